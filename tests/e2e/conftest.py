"""A worker shared by the end-to-end tests of one module: SQLite + embedded broker, real child trainings."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Api, make_api

SECRET = "s3cr3t-service-key-never-in-children"


@dataclass
class Runtime:
    """An API client and a running worker on one FITSTUDIO_HOME."""

    api: Api
    home: Path
    worker_log: Path
    project: str = "RT"

    def dataset(self, name: str, payload: bytes, filename: str = "data.csv") -> int:
        r = self.api.upload_csv(self.project, name, payload, filename)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def task(
        self, dataset_id: int, target: str, prediction_type: str | None = None, patch: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An ML task on DATASET_ID with SETTINGS patched (CPU queue, small epochs unless given)."""
        r = self.api.post(f"/api/v1/projects/{self.project}/analyses", json={"dataset_id": dataset_id})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = {"target": target}
        if prediction_type:
            body["prediction_type"] = prediction_type
        r = self.api.post(f"/api/v1/analyses/{r.json()['id']}/ml-tasks", json=body)
        assert r.status_code == 201, r.text
        task = r.json()
        settings = task["settings"]
        settings["gpu"]["use_gpu"] = False
        settings["training"]["epochs"] = 2
        for key, value in (patch or {}).items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key].update(value)
            else:
                settings[key] = value
        r = self.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings)
        assert r.status_code == 200, r.text
        task["settings"] = r.json()
        return task

    def train(self, task_id: str) -> dict[str, Any]:
        r = self.api.post(f"/api/v1/ml-tasks/{task_id}/train", json={})
        assert r.status_code == 202, r.text
        return r.json()

    def wait(
        self,
        session_id: int,
        timeout: float = 240,
        statuses: tuple[str, ...] = ("succeeded", "failed", "aborted"),
        token: str | None = None,
    ) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            body = self.api.get(f"/api/v1/sessions/{session_id}", token=token).json()
            return body if body["status"] in statuses else None

        return helpers.wait_for(done, timeout, f"session {session_id} in {statuses}", every=0.2)

    def train_and_wait(self, task_id: str, timeout: float = 240) -> dict[str, Any]:
        return self.wait(self.train(task_id)["id"], timeout)

    def log_tail(self) -> str:
        return self.worker_log.read_text(errors="replace")[-4000:] if self.worker_log.exists() else ""


@contextmanager
def started(home: Path, name: str, worker_args: list[str] | None = None, **values: str) -> Iterator[Runtime]:
    """A migrated FITSTUDIO_HOME (settings VALUES), project RT and one running `fitstudio worker`, for a module."""
    from server.services.bootstrap import migrate
    from server.settings import get_settings
    from tests.conftest import configure

    mp = pytest.MonkeyPatch()
    try:
        settings = configure(mp, home, secret_key=SECRET, **values)
        migrate(settings)
        api = make_api(settings)
        assert api.post("/api/v1/projects", json={"key": "RT", "name": "runtime"}).status_code == 201
        log = home.parent / "worker.log"
        worker = helpers.start_worker(f"{name}-{os.getpid()}", queues="cpu", args=worker_args, log=log)
        try:
            yield Runtime(api, home, log)
        finally:
            helpers.stop_process(worker)
    finally:
        mp.undo()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """SQLite + embedded broker + one worker (2 trainings at once, 3 GB memory limit) for the module."""
    home = tmp_path_factory.mktemp("rt") / "home"
    # dry_run_wait_s: the dry-run tests read validate's synchronous answer, as a first TensorFlow import may be slow
    with started(home, "rt", ["--concurrency", "2"], training_memory_mb="3000", dry_run_wait_s="230") as runtime:
        yield runtime


def csv_bytes(frame: Any) -> bytes:
    """A DataFrame as CSV bytes."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()
