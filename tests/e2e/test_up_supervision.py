"""`fitstudio up` supervises its worker: a killed worker comes back; SIGTERM or Ctrl-C stops the API and the worker.

Real processes: `fitstudio up` on a fresh FITSTUDIO_HOME and a free port; its worker is found among its children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests import helpers


@dataclass
class Up:
    """A running `fitstudio up`, its output and an API client with the admin's token."""

    proc: subprocess.Popen[bytes]
    log: Path
    base: str
    client: httpx.Client
    seen: set[int]  # every worker pid seen, for the fixture's clean-up

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pid(self) -> int | None:
        """The pid of up's worker process, if one runs."""
        workers = []
        for child in psutil.Process(self.proc.pid).children():
            try:  # a worker just killed may be a zombie, or gone, by the time we look at it
                if "worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    workers.append(child.pid)
            except psutil.Error:
                continue
        assert len(workers) <= 1, workers
        self.seen.update(workers)
        return workers[0] if workers else None

    def readyz(self) -> httpx.Response:
        return httpx.get(f"{self.base}/readyz", timeout=5)

    def workers(self) -> dict[str, dict[str, Any]]:
        return {w["name"]: w for w in self.client.get("/api/v1/workers").json()}

    def wait_ready(self, timeout: float = 120) -> None:
        helpers.wait_for(lambda: self.readyz().status_code == 200, timeout, "/readyz to answer 200", every=0.3)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    """`fitstudio up` serving, with its worker ready (heartbeat every second)."""
    log, port = tmp_path / "up.log", helpers.free_port()
    proc = helpers.start_up(tmp_path / "home", log, port, worker_heartbeat_s="1")
    base = f"http://127.0.0.1:{port}"
    seen: set[int] = set()
    try:
        token = helpers.wait_for_up(proc, log, base, timeout=120)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            running = Up(proc, log, base, client, seen)
            running.wait_ready()
            yield running
    finally:
        helpers.stop_process(proc)
        for pid in seen:  # a worker left behind would be a bug (the tests assert it); do not leak it here either
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass


def _worker_name(pid: int) -> str:
    return f"fitstudio-{pid}@{socket.gethostname()}"


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_trains_the_next_session(up: Up) -> None:
    first = up.worker_pid()
    assert first is not None
    assert up.workers()[_worker_name(first)]["state"] == "alive"

    os.kill(first, signal.SIGKILL)
    helpers.wait_for(
        lambda: "worker exited with code -9 (killed by SIGKILL); restarting in 1 s" in up.output(),
        30,
        "up to report the dead worker",
    )
    second = helpers.wait_for(lambda: (p := up.worker_pid()) not in (None, first) and p, 30, "a new worker process")
    # up says so once the new process runs: the test can see the process first (a CI run under load did)
    helpers.wait_for(lambda: f"worker restarted (pid {second})" in up.output(), 30, "up to report the restart")
    up.wait_ready(60)
    workers = up.workers()
    assert workers[_worker_name(first)]["state"] == "stopped", workers  # up marked the dead one stopped
    assert workers[_worker_name(second)]["state"] == "alive", workers
    assert workers[_worker_name(second)]["accepts_trainings"] is True

    datasets = {d["name"]: d for d in up.client.get("/api/v1/projects/DEMO/datasets").json()}
    body = {"dataset_id": datasets["breast_cancer"]["id"]}
    analysis = up.client.post("/api/v1/projects/DEMO/analyses", json=body).json()
    task = up.client.post(f"/api/v1/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["training"]["epochs"] = 2
    assert up.client.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    session = up.client.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}).json()

    def ended() -> dict[str, Any] | None:
        s = up.client.get(f"/api/v1/sessions/{session['id']}").json()
        return s if s["status"] in ("succeeded", "failed", "aborted") else None

    final = helpers.wait_for(ended, 180, "the session trained by the new worker", every=0.5)
    assert final["status"] == "succeeded", (final["error"], up.output()[-3000:])
    assert final["worker"] == _worker_name(second)


@pytest.mark.parametrize("how", ["SIGTERM to up", "Ctrl-C to its process group"])
def test_a_stop_signal_ends_the_api_and_the_worker(up: Up, how: str) -> None:
    worker = up.worker_pid()
    assert worker is not None
    if how == "SIGTERM to up":
        up.proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(up.proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    assert up.proc.wait(timeout=90) == 0, up.output()[-3000:]
    out = up.output()
    assert "fitstudio stopped" in out, out[-3000:]
    assert "restarting" not in out, "a worker stopped by up must not be restarted"
    assert not psutil.pid_exists(worker), "the worker outlived fitstudio up"
    with pytest.raises(httpx.ConnectError):
        up.readyz()
