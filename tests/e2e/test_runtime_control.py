"""Interrupt and abort on a real worker, with the latencies measured (pytest -s prints them)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests import helpers
from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

TERMINAL = ("succeeded", "failed", "aborted")
EPOCHS = 20_000  # far more than any test waits for, however slow the machine: only a stop ends these sessions
NO_EARLY_STOP = {"enabled": False, "patience": 3}  # new tasks stop early by default; these must run until stopped
LONG = {"training": {"epochs": EPOCHS, "batch_size": 8, "early_stopping": NO_EARLY_STOP}}


@pytest.fixture(scope="module")
def dataset(runtime: Runtime) -> int:
    from server.services.bootstrap import demo_bytes

    return runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())


@pytest.fixture(scope="module")
def long_sessions(runtime: Runtime, dataset: int) -> dict[str, tuple[str, int]]:
    """Two long trainings started together (the worker runs both; the abort test ends its one first, so that the
    interrupted one then has the CPU to itself): name -> (ML task id, session id)."""
    out = {}
    for name in ("interrupt", "abort"):
        task = runtime.task(dataset, "diagnosis", patch=LONG)
        out[name] = (task["id"], runtime.train(task["id"])["id"])
    return out


def wait_for_epochs(runtime: Runtime, session_id: int, n: int = 1) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = runtime.api.get(f"/api/v1/sessions/{session_id}").json()
        assert body["status"] in ("queued", "running"), (body, runtime.log_tail())
        return body if len(body["history"]) >= n else None

    return helpers.wait_for(done, 180, f"session {session_id} to complete {n} epoch(s)", every=0.2)


def time_to_terminal(runtime: Runtime, session_id: int, since: float) -> tuple[dict[str, Any], float]:
    final = runtime.wait(session_id, timeout=60)
    return final, time.monotonic() - since


def test_abort_a_running_session(runtime: Runtime, long_sessions: dict[str, Any]) -> None:
    task_id, session_id = long_sessions["abort"]
    wait_for_epochs(runtime, session_id)
    asked = time.monotonic()
    r = runtime.api.post(f"/api/v1/sessions/{session_id}/abort")
    assert r.status_code == 202, r.text
    final, latency = time_to_terminal(runtime, session_id, asked)
    print(f"\nabort latency (running): {latency:.2f}s (POST /abort to status {final['status']})")
    assert latency < 10, f"abort took {latency:.2f}s to end the session"
    assert final["status"] == "aborted", (final, runtime.log_tail())
    assert final["trained_model_id"] is None
    assert runtime.api.get(f"/api/v1/ml-tasks/{task_id}/trained-models").json() == []
    # An ended session cannot be aborted or interrupted again.
    assert runtime.api.post(f"/api/v1/sessions/{session_id}/abort").status_code == 409
    assert runtime.api.post(f"/api/v1/sessions/{session_id}/interrupt").status_code == 409


def test_interrupt_keeps_the_best_epoch(runtime: Runtime, long_sessions: dict[str, Any]) -> None:
    task_id, session_id = long_sessions["interrupt"]
    running = wait_for_epochs(runtime, session_id)
    assert running["status"] == "running"
    asked = time.monotonic()
    r = runtime.api.post(f"/api/v1/sessions/{session_id}/interrupt")
    assert r.status_code == 202, r.text
    final, latency = time_to_terminal(runtime, session_id, asked)
    print(
        f"\ninterrupt latency: {latency:.2f}s (POST /interrupt to status {final['status']}, "
        f"after {len(final['history'])} epoch(s))"
    )
    assert latency < 10, f"interrupt took {latency:.2f}s to end the session"
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert final["interrupted"] is True
    assert 1 <= len(final["history"]) < EPOCHS
    tmid = final["trained_model_id"]
    assert tmid and runtime.api.get(f"/api/v1/ml-tasks/{task_id}/trained-models").json() == [tmid]
    details = runtime.api.get(f"/api/v1/trained-models/{tmid}").json()
    assert 1 <= details["best_epoch"] <= len(final["history"]), (details["best_epoch"], len(final["history"]))
    assert details["best_epoch"] in [h["epoch"] for h in final["history"]]
    assert runtime.api.get(f"/api/v1/trained-models/{tmid}/download").status_code == 200


def test_abort_a_queued_session(runtime: Runtime, dataset: int) -> None:
    # The test worker listens on the cpu queue only: a GPU session stays queued.
    task = runtime.task(dataset, "diagnosis", patch={"gpu": {"use_gpu": True}})
    session = runtime.train(task["id"])
    assert session["status"] == "queued" and session["queue"] == "gpu", session
    time.sleep(1)  # time passes on purpose: no cpu worker takes a gpu session
    assert runtime.api.get(f"/api/v1/sessions/{session['id']}").json()["status"] == "queued"
    asked = time.monotonic()
    r = runtime.api.post(f"/api/v1/sessions/{session['id']}/abort")
    latency = time.monotonic() - asked
    assert r.status_code == 202, r.text
    body = runtime.api.get(f"/api/v1/sessions/{session['id']}").json()
    print(f"\nabort latency (queued): {latency:.3f}s (the POST itself; status {body['status']} at once)")
    assert body["status"] == "aborted", body
    assert latency < 2, f"aborting a queued session took {latency:.3f}s"
    time.sleep(2)  # time passes on purpose: an aborted session must stay untouched, never started by a worker
    body = runtime.api.get(f"/api/v1/sessions/{session['id']}").json()
    assert body["status"] == "aborted" and body["started_at"] is None and body["worker"] is None, body
    assert body["history"] == [] and body["trained_model_id"] is None
    assert runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/trained-models").json() == []
