"""POST /saved-models/{id}/retrain (api.md "Batch jobs"): the checks made before a session is queued, permissions,
and what the end of the retrain session records (its worker's own calls, worker/state.finish, made here)."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from tests.security.support import fabricate_trained_model, keras_model_file
from tests.server.api.support import API, create_project, expect, expect_error


def _deployed(api: Any, ml_task: dict[str, Any], name: str) -> tuple[int, str]:
    """A saved model (v1) of a trained model of ML_TASK stored as a worker stores one; (its id, the model id)."""
    tmid = fabricate_trained_model(api, ml_task["id"], real_keras=True)
    body = {"saved_model_name": name}
    return int(expect(api.post(f"{API}/trained-models/{tmid}/deploy", json=body), 201)["saved_model_id"]), tmid


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _end_like_a_worker(api: Any, session_id: int, succeed: bool) -> None:
    """Claim session SESSION_ID and end it as its worker would: a model fitted on its design's dataset, or failed."""
    from core import preprocessing
    from core.contracts import ErrorInfo
    from server.db import session_scope
    from server.models import Dataset
    from server.services import datasets
    from worker import runner, state

    lease = state.claim(session_id, "retrain-tests")
    assert lease is not None
    if not succeed:
        assert state.finish(session_id, lease, "failed", error=ErrorInfo("boom", "the training failed"))
        return
    row = state.load(session_id)
    assert row is not None
    design = row.design
    with session_scope() as db:
        ds = db.get(Dataset, design["dataset_id"])
        assert ds is not None
        frame = datasets.load_frame(api.settings, ds)
    prep = preprocessing.fit(frame, design)
    prep["target"] = preprocessing.fit_target(frame[design["target"]], design["prediction_type"])
    shapes = preprocessing.input_shapes(prep)
    out_dir = Path(tempfile.mkdtemp(prefix="retrain-", dir=api.settings.scratch_root))
    try:
        keras_model_file(out_dir / "model.keras", shapes, 2)
        result = {"metrics": {}, "history": [], "best_epoch": 1, "input_shapes": shapes, "n_classes": 2}
        model = runner._store_model(api.settings, row, {**result, "preprocessing": prep}, out_dir)
        assert state.finish(session_id, lease, "succeeded", model=model)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def test_checks_before_a_retrain_starts_and_permissions(
    api: Any, project: str, dataset: dict[str, Any], ml_task: dict[str, Any], demo_csv: bytes
) -> None:
    saved, _ = _deployed(api, ml_task, "checks")
    before = len(expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200))
    frame = pd.read_csv(io.BytesIO(demo_csv))
    lacking = expect(api.upload_csv(project, "lacking", _csv(frame.drop(columns=["mean radius", "diagnosis"]))), 201)

    body = expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": lacking["id"]}), 422)
    assert body["code"] == "missing_columns"
    assert {e["field"] for e in body["errors"]} == {"mean radius", "diagnosis"}
    assert "mean radius" in body["detail"] and "diagnosis" in body["detail"]
    assert len(expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)) == before  # no session was made

    expect_error(api.post(f"{API}/saved-models/{saved + 1000}/retrain", json={}), 404, "not_found")
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": lacking["id"] + 1000}), 404)
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": 2**70}), 404)
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": "x"}), 422)
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"activate": "yes"}), 422)
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"epochs": 3}), 422)

    create_project(api, "OTHER")
    elsewhere = expect(api.upload_csv("OTHER", "elsewhere", demo_csv), 201)
    body = expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": elsewhere["id"]}), 422)
    assert body["code"] == "other_project"

    reader, outsider = api.user("rr", project, "reader"), api.user("ro")
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={}, token=reader), 403, "forbidden")
    expect_error(api.post(f"{API}/saved-models/{saved}/retrain", json={}, token=outsider), 404, "not_found")
    assert len(expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)) == before


def test_an_imported_version_has_no_design_to_retrain(api: Any, project: str, tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    keras_model_file(path, {"x": [3]}, 2)
    r = api.client.post(
        f"{API}/projects/{project}/saved-models/import",
        headers=api.headers(None),
        data={"name": "elsewhere"},
        files={"file": ("m.keras", io.BytesIO(path.read_bytes()), "application/octet-stream")},
    )
    saved = expect(r, 201)
    body = expect_error(api.post(f"{API}/saved-models/{saved['id']}/retrain", json={}), 409, "no_design")
    assert "imported" in body["detail"]


def test_a_succeeded_retrain_becomes_a_version_naming_the_one_it_retrained(
    api: Any, project: str, dataset: dict[str, Any], ml_task: dict[str, Any], demo_csv: bytes
) -> None:
    saved, first_model = _deployed(api, ml_task, "retrained")
    frame = pd.read_csv(io.BytesIO(demo_csv)).sample(frac=1.0, random_state=7)
    newer = expect(api.upload_csv(project, "newer", _csv(frame.iloc[:300])), 201)
    assert newer["id"] != dataset["id"]

    session = expect(
        api.post(f"{API}/saved-models/{saved}/retrain", json={"dataset_id": newer["id"], "activate": True}), 202
    )
    assert (session["status"], session["ml_task_id"]) == ("queued", ml_task["id"])
    _end_like_a_worker(api, session["id"], succeed=True)

    shown = expect(api.get(f"{API}/saved-models/{saved}"), 200)
    assert [v["id"] for v in shown["versions"]] == ["v1", "v2"] and shown["active_version"] == "v2"
    v2 = shown["versions"][1]
    done = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert done["status"] == "succeeded" and v2["trained_model_id"] == done["trained_model_id"] != first_model
    named = {"saved_model_id": saved, "version_id": "v1", "trained_model_id": first_model}
    assert v2["retrained_from"] == named and "retrained_from" not in shown["versions"][0]
    lineage = expect(api.get(f"{API}/trained-models/{v2['trained_model_id']}"), 200)["lineage"]
    assert {"kind": "retrained_from", **named} in lineage

    # A failed retrain makes no version; one not asked to activate leaves the active version alone.
    failed = expect(api.post(f"{API}/saved-models/{saved}/retrain", json={}), 202)
    _end_like_a_worker(api, failed["id"], succeed=False)
    assert [v["id"] for v in expect(api.get(f"{API}/saved-models/{saved}"), 200)["versions"]] == ["v1", "v2"]
    quiet = expect(api.post(f"{API}/saved-models/{saved}/retrain", json={}), 202)
    _end_like_a_worker(api, quiet["id"], succeed=True)
    shown = expect(api.get(f"{API}/saved-models/{saved}"), 200)
    assert [v["id"] for v in shown["versions"]] == ["v1", "v2", "v3"] and shown["active_version"] == "v2"
    assert shown["versions"][2]["retrained_from"]["version_id"] == "v2"  # the active version when it was asked
