"""Fault-injection fixtures: PostgreSQL + Redis settings with short heartbeats, workers, long trainings."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Api, configure, make_api

FAST = {
    "worker_heartbeat_s": "0.5",
    "worker_lost_after_s": "3",
    "reconcile_every_s": "1",
    "republish_after_s": "2",
    "checkpoint_every_s": "0",
    "drain_timeout_s": "60",
}


@dataclass
class Cluster:
    """The API (in-process) and the worker processes started by a test."""

    api: Api
    home: Path
    logs: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def worker(self, name: str, queues: str = "cpu", concurrency: int = 1) -> subprocess.Popen[bytes]:
        proc = helpers.start_worker(
            name, queues=queues, args=["--concurrency", str(concurrency)], log=self.logs / f"{name}.log"
        )
        self.workers[name] = proc
        return proc

    def long_task(self, key: str = "REL", epochs: int = 30) -> str:
        """A breast-cancer ML task that trains EPOCHS small-batch epochs on the cpu queue."""
        from server.services.bootstrap import demo_bytes

        if self.api.get(f"/api/v1/projects/{key}").status_code == 404:
            assert self.api.post("/api/v1/projects", json={"key": key}).status_code == 201
        ds = self.api.upload_csv(
            key, f"bc{len(self.workers)}-{os.urandom(3).hex()}", demo_bytes("breast_cancer").getvalue()
        )
        assert ds.status_code == 201, ds.text
        analysis = self.api.post(f"/api/v1/projects/{key}/analyses", json={"dataset_id": ds.json()["id"]}).json()
        task = self.api.post(f"/api/v1/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
        settings = task["settings"]
        # Every epoch runs (the tests count them): early stopping, on for new tasks, is turned off.
        settings["training"].update(epochs=epochs, batch_size=8, early_stopping={"enabled": False, "patience": 3})
        settings["gpu"]["use_gpu"] = False
        assert self.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
        return task["id"]

    def train(self, task_id: str) -> int:
        r = self.api.post(f"/api/v1/ml-tasks/{task_id}/train", json={})
        assert r.status_code == 202, r.text
        return int(r.json()["id"])

    def session(self, session_id: int) -> dict[str, Any]:
        return self.api.get(f"/api/v1/sessions/{session_id}").json()

    def wait(self, session_id: int, predicate: Any, timeout: float, what: str) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            body = self.session(session_id)
            return body if predicate(body) else None

        return helpers.wait_for(check, timeout, what, every=0.3)

    def wait_end(self, session_id: int, timeout: float = 300) -> dict[str, Any]:
        return self.wait(
            session_id,
            lambda s: s["status"] in ("succeeded", "failed", "aborted"),
            timeout,
            f"session {session_id} to end",
        )

    def worker_logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log"))


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, redis_url: str) -> Iterator[Cluster]:
    """PostgreSQL + Redis with fast heartbeats and reconciliation; workers are stopped at the end."""
    from server.services.bootstrap import migrate

    settings = configure(monkeypatch, tmp_path / "home", database_url=pg_url, broker_url=redis_url, **FAST)
    migrate(settings)
    logs = tmp_path / "logs"
    logs.mkdir()
    c = Cluster(make_api(settings), tmp_path / "home", logs)
    try:
        yield c
    finally:
        for proc in c.workers.values():
            helpers.stop_process(proc, timeout=10)
        from server.settings import get_settings

        get_settings.cache_clear()


def epochs_of(session: dict[str, Any]) -> list[int]:
    """The epoch numbers in a session's history, in order."""
    return [h["epoch"] for h in session["history"]]
