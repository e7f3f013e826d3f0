"""Real worker processes and what the service reports of them: /readyz, GET /api/v1/workers, the isolation status.

A worker that cannot isolate user code (here: no bubblewrap on its PATH) refuses trainings: it consumes no queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Api

OPT_OUT = "FITSTUDIO_TRAINING_SANDBOX=false"


@pytest.fixture
def workers() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Worker processes a test starts (by name), stopped at its end."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    yield started
    for proc in started.values():
        helpers.stop_process(proc)


def _start(workers: dict[str, Any], tmp_path: Path, name: str, **env: str) -> Path:
    log = tmp_path / f"{name}.log"
    workers[name] = helpers.start_worker(name, queues="cpu", extra_env=env, log=log)
    return log


def _rows(api: Api) -> dict[str, dict[str, Any]]:
    r = api.get("/api/v1/workers")
    assert r.status_code == 200, r.text
    return {w["name"].split("@")[0]: w for w in r.json()}


def _wait_for_rows(api: Api, names: set[str]) -> dict[str, dict[str, Any]]:
    return helpers.wait_for(lambda: (rows := _rows(api)).keys() >= names and rows, 60, f"heartbeats of {names}")


def test_readyz_turns_200_when_a_worker_heartbeats_and_workers_show_their_isolation(
    api: Api, workers: dict[str, Any], tmp_path: Path
) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["workers"].startswith("no live worker: none has sent"), r.text
    _start(workers, tmp_path, "boxed")
    _start(workers, tmp_path, "bare", FITSTUDIO_TRAINING_SANDBOX="false")
    rows = _wait_for_rows(api, {"boxed", "bare"})
    r = api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"sql": "ok", "broker": "ok", "workers": "ok", "disk": "ok"}

    boxed, bare = rows["boxed"], rows["bare"]
    assert boxed["state"] == "alive" and boxed["isolated"] is True and boxed["accepts_trainings"] is True
    assert boxed["isolation"] and "disabled" not in boxed["isolation"]
    assert bare["state"] == "alive" and bare["isolated"] is False and bare["accepts_trainings"] is True
    assert "disabled by the operator" in bare["isolation"]
    log = (tmp_path / "bare.log").read_text()
    assert "WARNING" in log and f"training sandbox disabled by the operator ({OPT_OUT})" in log

    for proc in workers.values():  # both drain at once: one SIGTERM each (a second one means "stop at once")
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in workers.values():
        assert proc.wait(timeout=120) in (0, 1), (tmp_path / "boxed.log").read_text()[-3000:]
    stopped = _rows(api)
    assert stopped["boxed"]["state"] == stopped["bare"]["state"] == "stopped"
    assert api.client.get("/readyz").status_code == 503


def test_a_worker_that_cannot_isolate_user_code_refuses_trainings(
    api: Api, workers: dict[str, Any], tmp_path: Path, demo_csv: bytes
) -> None:
    from server.broker_inspect import pending_sessions
    from server.settings import get_settings

    assert api.post("/api/v1/projects", json={"key": "ISO"}).status_code == 201
    dataset = api.upload_csv("ISO", "bc", demo_csv).json()
    analysis = api.post("/api/v1/projects/ISO/analyses", json={"dataset_id": dataset["id"]}).json()
    task = api.post(f"/api/v1/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    task["settings"]["gpu"]["use_gpu"] = False
    assert api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=task["settings"]).status_code == 200
    session = api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}).json()
    assert session["status"] == "queued"

    # No bubblewrap on its PATH: the sandbox probe fails, as on a machine where it is not installed.
    log = _start(workers, tmp_path, "nobwrap", PATH=os.path.dirname(sys.executable))
    row = _wait_for_rows(api, {"nobwrap"})["nobwrap"]
    assert row["state"] == "refusing" and row["isolated"] is False and row["accepts_trainings"] is False
    assert row["isolation"] and row["queues"] == ["cpu"]
    helpers.wait_for(lambda: "ready." in log.read_text(), 30, "the worker's consumer to start")
    time.sleep(3)  # a worker that consumed its queue would have claimed the session by now
    assert api.get(f"/api/v1/sessions/{session['id']}").json()["status"] == "queued"
    assert session["id"] in (pending_sessions(get_settings(), ["cpu"]) or set()), "the message must stay queued"

    text = log.read_text()
    assert "ERROR" in text and "refuses trainings and consumes no queue" in text and OPT_OUT in text
    r = api.client.get("/readyz")
    assert r.status_code == 503, r.text
    reason = r.json()["checks"]["workers"]
    assert "refuses trainings" in reason and "nobwrap@" in reason and row["isolation"] in reason and OPT_OUT in reason
