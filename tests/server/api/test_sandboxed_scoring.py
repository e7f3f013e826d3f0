"""A model that needs its training's code to load is never loaded by the API: predict goes to a worker, or says why.

The real path (a worker's sandbox running the cells) is tested end to end in tests/e2e/test_custom_objects_scoring.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import pytest
from fastapi.testclient import TestClient

from server.services import sandboxed_scoring, scoring
from tests.security.support import SMALL_CSV, fabricate_trained_model
from tests.server.api.support import API, expect, expect_error, upload

ROWS = {"rows": [{"x": 1, "y": 1.5}, {"x": 2, "y": 2.0}]}
IMPORTED: list[str] = []


class Doubling(keras.layers.Layer):
    """A custom layer of this module: a file naming it can be loaded only by code that defines it."""

    def call(self, x: Any) -> Any:
        IMPORTED.append("called")  # the API must never run it
        return x * 2


def _trained_model(api: Any, project: str) -> tuple[str, Path]:
    """A trained model of a task predicting 'label', stored as a worker stores one: its id and file."""
    ds = expect(upload(api, project, "small", SMALL_CSV, "small.csv"), 201)
    an = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    mt = expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)
    tmid = fabricate_trained_model(api, mt["id"])
    return tmid, Path(expect(api.get(f"{API}/trained-models/{tmid}/location"), 200)["location"])


@pytest.fixture
def custom_model(api: Any, project: str) -> dict[str, Any]:
    """A trained model whose file uses the custom layer Doubling."""
    from server.services import model_files

    tmid, path = _trained_model(api, project)
    width = keras.models.load_model(path, compile=False).inputs[0].shape[1]
    inputs = keras.Input(shape=(width,), name="main")
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(Doubling()(inputs))).save(path)
    model_files.write_checksum(path)
    IMPORTED.clear()
    return {"id": tmid, "path": path}


def _live_worker(api: Any, queues: list[str]) -> None:
    """A worker row that beats now, as a running worker's heartbeat writes it (no process consumes its queues)."""
    from server.db import session_scope
    from server.models import WorkerRecord

    with session_scope() as db:
        db.add(WorkerRecord(name="w", hostname="h", queues=queues, gpus=[], isolated=True, accepts_trainings=True))


def _predict(api: Any, tmid: str) -> Any:
    """POST …/predict on a plain client: the checked one refuses every 5xx, and these 503/504 are the answers wanted."""
    return TestClient(api.client.app).post(f"{API}/trained-models/{tmid}/predict", json=ROWS, headers=api.headers())


def _exchange(api: Any) -> list[Path]:
    root = api.settings.artifacts / "scoring"
    return sorted(root.iterdir()) if root.is_dir() else []


def test_without_a_live_worker_the_prediction_is_503_no_worker(api: Any, custom_model: dict[str, Any]) -> None:
    body = expect_error(_predict(api, custom_model["id"]), 503, "no_worker")
    assert "'cpu'" in body["detail"]
    _live_worker(api, ["gpu"])  # a worker of another queue does not score this model
    expect_error(_predict(api, custom_model["id"]), 503, "no_worker")
    assert IMPORTED == [] and _exchange(api) == []


def test_a_scoring_no_worker_takes_is_504_and_leaves_nothing(
    api: Any, custom_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandboxed_scoring, "WAIT_S", 0.5)
    _live_worker(api, ["cpu"])
    body = expect_error(_predict(api, custom_model["id"]), 504, "scoring_timeout")
    assert "no worker took it" in body["detail"]
    assert IMPORTED == [] and _exchange(api) == []
    loads = scoring.loads
    expect_error(_predict(api, custom_model["id"]), 504, "scoring_timeout")
    assert scoring.loads == loads  # the verdict "needs user code" is remembered: the file is not read again


def test_with_no_broker_the_prediction_is_503_and_leaves_nothing(
    api: Any, custom_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from server import broker

    class NoBroker:
        def send_task(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(broker, "app_for", lambda settings: NoBroker())
    _live_worker(api, ["cpu"])
    expect_error(_predict(api, custom_model["id"]), 503, "broker_unavailable")
    assert IMPORTED == [] and _exchange(api) == []


def test_a_built_in_model_is_still_scored_in_the_api(api: Any, project: str) -> None:
    tmid, _ = _trained_model(api, project)
    out = expect(api.post(f"{API}/trained-models/{tmid}/predict", json=ROWS), 200)  # no worker needed
    assert len(out["predictions"]) == 2 and set(out) >= {"probabilities", "class_labels", "imputed"}


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        ({"stage": "load", "error": {"type": "TypeError", "message": "bad config"}}, 409, "model_not_loadable"),
        ({"stage": "predict", "error": {"type": "ValueError", "message": "bad shape"}}, 422, "prediction_failed"),
        ({"killed_for": "time_limit", "error": {"type": "time_limit", "message": "300 s"}}, 504, "scoring_timeout"),
        ({"killed_for": "memory_limit", "error": {"type": "memory_limit", "message": "m"}}, 422, "prediction_failed"),
        ({"stage": None, "error": {"type": "process_died", "message": "SIGKILL"}}, 503, "scoring_failed"),
    ],
)
def test_a_failed_sandboxed_scoring_names_its_reason(reply: dict[str, Any], status: int, code: str) -> None:
    error = sandboxed_scoring.refusal({"ok": False, **reply})
    assert (error.status, error.code) == (status, code)
    assert reply["error"]["message"] in error.detail


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        ({"stage": "load", "error": {"type": "TypeError", "message": "bad config"}}, 409, "model_not_loadable"),
        ({"stage": "export", "error": {"type": "ValueError", "message": "no ONNX op"}}, 422, "export_failed"),
        ({"killed_for": "memory_limit", "error": {"type": "memory_limit", "message": "m"}}, 422, "export_failed"),
        ({"killed_for": "time_limit", "error": {"type": "time_limit", "message": "300 s"}}, 504, "scoring_timeout"),
        ({"stage": None, "error": {"type": "process_died", "message": "SIGKILL"}}, 503, "scoring_failed"),
    ],
)
def test_a_failed_sandboxed_export_names_its_reason(reply: dict[str, Any], status: int, code: str) -> None:
    error = sandboxed_scoring.refusal({"ok": False, **reply}, sandboxed_scoring.EXPORT)
    assert (error.status, error.code) == (status, code)
    assert reply["error"]["message"] in error.detail and "scor" not in error.detail.replace("scoring_", "")


def _export(api: Any, saved_id: int) -> Any:
    """GET …/export on a plain client (the 503/504 answers are the ones wanted)."""
    url = f"{API}/saved-models/{saved_id}/export?format=onnx"
    return TestClient(api.client.app).get(url, headers=api.headers())


def test_exporting_a_model_that_needs_its_code_goes_to_a_worker(
    api: Any, custom_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tmid = custom_model["id"]
    saved = expect(api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": "custom"}), 201)
    body = expect_error(_export(api, saved["saved_model_id"]), 503, "no_worker")
    assert "'cpu'" in body["detail"]
    monkeypatch.setattr(sandboxed_scoring, "WAIT_S", 0.5)
    _live_worker(api, ["cpu"])
    body = expect_error(_export(api, saved["saved_model_id"]), 504, "scoring_timeout")
    assert "sandboxed export" in body["detail"] and "no worker took it" in body["detail"]
    request = api.settings.artifacts / "scoring"
    assert IMPORTED == [] and _exchange(api) == [] and request.is_dir()  # the request was left, then removed
    location = expect(api.get(f"{API}/saved-models/{saved['saved_model_id']}/location"), 200)["location"]
    assert not list((Path(location).parent / "export").glob("*"))  # no export cached, not even a partial one
