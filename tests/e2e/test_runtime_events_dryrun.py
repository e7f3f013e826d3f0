"""Server-Sent Events of a real training (and resuming them with Last-Event-ID); dry runs and static validation."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

RAISING_ARCHITECTURE = """from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    x = Input(shape=input_shapes["main"], name="main")
    raise KeyError("dry-run-failure")


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""
RAISING_LINE = 7


@pytest.fixture(scope="module")
def dataset(runtime: Runtime) -> int:
    from server.services.bootstrap import demo_bytes

    return runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())


@pytest.fixture(scope="module")
def dry_runs(runtime: Runtime, dataset: int) -> Iterator[dict[str, tuple[dict[str, Any], Future[Any]]]]:
    """Both dry runs, requested in the background (each request waits for a worker to run it) so that they overlap
    with the training of the SSE test: name -> (ML task, future of the validate response)."""
    default = runtime.task(dataset, "diagnosis")
    failing = runtime.task(dataset, "diagnosis")
    code = {**failing["settings"]["code"], "architecture": RAISING_ARCHITECTURE}
    with ThreadPoolExecutor(2) as pool:
        yield {
            "default": (
                default,
                pool.submit(runtime.api.post, f"/api/v1/ml-tasks/{default['id']}/validate", params={"dry_run": "true"}),
            ),
            "failing": (
                failing,
                pool.submit(
                    runtime.api.post,
                    f"/api/v1/ml-tasks/{failing['id']}/validate",
                    params={"dry_run": "true"},
                    json={"code": code},
                ),
            ),
        }


def read_events(runtime: Runtime, session_id: int, last_event_id: str | None = None) -> list[dict[str, Any]]:
    """Every SSE frame of the session's stream until its `end` event: [{id, event, data}]."""
    headers = runtime.api.headers()
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, Any]] = []
    frame: dict[str, Any] = {}
    with runtime.api.client.stream("GET", f"/api/v1/sessions/{session_id}/events", headers=headers, timeout=300) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if "event" in frame:
                    frame["data"] = json.loads(frame.get("data", "null"))
                    events.append(frame)
                    if frame["event"] == "end":
                        break
                frame = {}
            elif line.startswith(":"):
                continue  # a comment (keep-alive)
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                frame[field] = frame[field] + "\n" + value if field == "data" and field in frame else value
    assert events and events[-1]["event"] == "end", [e["event"] for e in events]
    return events


def test_sse_stream_and_resume(runtime: Runtime, dataset: int, dry_runs: dict[str, Any]) -> None:
    task = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 4}})
    session = runtime.train(task["id"])
    events = read_events(runtime, session["id"])
    kinds = [e["event"] for e in events]
    assert {"status", "epoch", "log", "end"} <= set(kinds), kinds
    assert kinds.count("end") == 1 and kinds[-1] == "end"
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["data"]["epoch"] for e in epochs] == [1, 2, 3, 4], kinds
    for e in epochs:
        assert 0.0 <= e["data"]["Test ROC AUC"] <= 1.0 and "loss" in e["data"], e
        assert e["id"], e
    statuses = [e["data"]["status"] for e in events if e["event"] == "status"]
    assert statuses[-1] == "succeeded" and "running" in statuses, statuses
    end = events[-1]["data"]
    assert end["status"] == "succeeded" and end["trained_model_id"], end
    log_lines = [line for e in events if e["event"] == "log" for line in e["data"]["lines"]]
    assert any("Epoch 4/4" in line for line in log_lines), log_lines[-20:]
    # Event ids only move forward.
    ids = [tuple(int(p) for p in e["id"].split(":")) for e in events]
    assert ids == sorted(ids), ids

    resumed = read_events(runtime, session["id"], last_event_id=epochs[1]["id"])
    resumed_kinds = [e["event"] for e in resumed]
    assert [e["data"]["epoch"] for e in resumed if e["event"] == "epoch"] == [3, 4], resumed_kinds
    assert resumed[-1]["event"] == "end" and resumed[-1]["data"]["status"] == "succeeded"
    # The log resumes where that id left it: no line twice across the two reads.
    offset = int(epochs[1]["id"].split(":")[1])
    full_log = runtime.api.get(f"/api/v1/sessions/{session['id']}/log").text.encode()
    resumed_log = "".join(line + "\n" for e in resumed if e["event"] == "log" for line in e["data"]["lines"])
    assert resumed_log and full_log[offset:].decode().startswith(resumed_log), (offset, resumed_log[:500])


def test_dry_run_of_the_default_design(runtime: Runtime, dry_runs: dict[str, Any]) -> None:
    task, future = dry_runs["default"]
    r = future.result(timeout=240)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["errors"] == [], (body, runtime.log_tail())
    dry = body["dry_run"]
    assert "Dense" in dry["summary"], dry["summary"]
    assert isinstance(dry["loss"], float) and math.isfinite(dry["loss"]), dry
    assert dry["output_width"] == 2 and dry["params"] > 0
    # A dry run trains nothing that stays.
    assert runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/sessions").json() == []


def test_dry_run_reports_the_cell_and_line_of_an_error(runtime: Runtime, dry_runs: dict[str, Any]) -> None:
    task, future = dry_runs["failing"]
    r = future.result(timeout=240)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False, body
    assert {"cell": "architecture", "line": RAISING_LINE} in [
        {"cell": e.get("cell"), "line": e.get("line")} for e in body["errors"]
    ], body["errors"]
    assert any("KeyError" in e["message"] and "dry-run-failure" in e["message"] for e in body["errors"]), body
    # Validating does not store what it validated.
    assert runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["code"] == task["settings"]["code"]


def test_static_validation_reports_a_syntax_error(runtime: Runtime, dataset: int) -> None:
    task = runtime.task(dataset, "diagnosis")
    training = "def build_sequences(a, b):\n    return a(8), b(8)\n\n\ndef fit_model(model, t, v, cbs)\n    pass\n"
    code = {**task["settings"]["code"], "training": training}
    r = runtime.api.post(
        f"/api/v1/ml-tasks/{task['id']}/validate",
        json={"code": code, "training": {**task["settings"]["training"], "mode": "advanced"}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False and "dry_run" not in body, body
    assert [{"cell": e.get("cell"), "line": e.get("line")} for e in body["errors"]] == [
        {"cell": "training", "line": 5}
    ], body["errors"]
    assert "SyntaxError" in body["errors"][0]["message"]
