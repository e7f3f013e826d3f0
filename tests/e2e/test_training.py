"""End to end: a real Celery worker process trains breast cancer with Keras, on SQLite + embedded broker
and on PostgreSQL + Redis; the model file loads and downloads byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Api, make_api


def train_demo(
    api: Api, epochs: int = 3, key: str = "E2E", csv: bytes | None = None, settings_patch: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Create project/dataset/analysis/ML task on breast cancer, submit a training; returns (mltask id, session)."""
    from server.services.bootstrap import demo_bytes

    assert api.post("/api/v1/projects", json={"key": key, "name": "end to end"}).status_code == 201
    r = api.upload_csv(key, "bc", csv or demo_bytes("breast_cancer").getvalue())
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/projects/{key}/analyses", json={"dataset_id": r.json()["id"], "name": "a"})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/analyses/{r.json()['id']}/ml-tasks", json={"target": "diagnosis"})
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["prediction_type"] == "binary"
    patch = {
        "training": {**task["settings"]["training"], "epochs": epochs, "batch_size": 32},
        "gpu": {"use_gpu": False, "gpu_list": [0], "allow_growth": True},
    }
    patch.update(settings_patch or {})
    r = api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=patch)
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    return task["id"], r.json()


def wait_session(
    api: Api, session_id: int, timeout: float = 240, statuses: tuple[str, ...] = ("succeeded", "failed", "aborted")
) -> dict:
    """Poll the session until it reaches one of STATUSES."""

    def done() -> dict | None:
        body = api.get(f"/api/v1/sessions/{session_id}").json()
        return body if body["status"] in statuses else None

    return helpers.wait_for(done, timeout, f"session {session_id} to reach {statuses}", every=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite_settings", "pg_redis_settings"])
def test_breast_cancer_trains_end_to_end(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = request.getfixturevalue(backend)
    api = make_api(settings)
    worker = helpers.start_worker(f"e2e-{backend}", queues="cpu", log=tmp_path / "worker.log")
    try:
        mltask_id, session = train_demo(api, epochs=3)
        final = wait_session(api, session["id"])
        assert final["status"] == "succeeded", (final["error"], (tmp_path / "worker.log").read_text()[-3000:])
        assert [h["epoch"] for h in final["history"]] == [1, 2, 3]
        progress = final["progress"]  # the last epoch is whole: every batch of it done
        assert progress["epoch"] == progress["epochs"] == 3 and progress["batch"] == progress["batches"] > 0, progress
        assert final["history"][-1]["Test ROC AUC"] > 0.9
        assert final["worker"].startswith(f"e2e-{backend}@")
        tmid = final["trained_model_id"]
        assert api.get(f"/api/v1/ml-tasks/{mltask_id}/trained-models").json() == [tmid]
        details = api.get(f"/api/v1/trained-models/{tmid}").json()
        assert details["metrics"]["Test ROC AUC"] > 0.9
        assert details["n_classes"] == 2 and details["class_labels"] == ["benign", "malignant"]
        location = api.get(f"/api/v1/trained-models/{tmid}/location").json()
        path = Path(location["location"])
        assert path.is_file() and location["uri"] == path.as_uri()
        assert location["download_url"].endswith(f"/api/v1/trained-models/{tmid}/download")
        import keras

        model = keras.models.load_model(path)
        assert model.output_shape == (None, 2)
        download = api.get(f"/api/v1/trained-models/{tmid}/download")
        assert download.status_code == 200
        assert download.content == path.read_bytes()
        log = api.get(f"/api/v1/sessions/{session['id']}/log").text
        assert "Epoch 3/3" in log
    finally:
        helpers.stop_process(worker)
