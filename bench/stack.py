"""An isolated fitstudio for the benchmarks: a throw-away FITSTUDIO_HOME (SQLite + embedded broker), a real API
server and real workers, and an HTTP client for them."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT, PY, ROOT, TERMINAL, stop, wait, watch_whole_run


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_only(database: Path) -> sqlite3.Connection:
    """A read-only connection to a stack's SQLite DATABASE file, for reading a session's state while it trains."""
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)


class Stack:
    """A throw-away FITSTUDIO_HOME (SQLite + embedded broker), a real `fitstudio api` and real workers.

    Use as a context manager; everything it started is stopped and the home removed on exit (unless KEEP).
    """

    def __init__(self, name: str, keep: bool = False, memory_mb: int = 8000):
        self.folder = Path(tempfile.mkdtemp(prefix=f"fitstudio-bench-{name}-"))
        self.home = self.folder / "home"
        self.keep = keep
        self.env = {
            "FITSTUDIO_HOME": str(self.home),
            "FITSTUDIO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "FITSTUDIO_WORKER_HEARTBEAT_S": "2",
            "FITSTUDIO_TRAINING_MEMORY_MB": str(memory_mb),
            "FITSTUDIO_MAX_UPLOAD_MB": "4096",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.api_proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.token = ""
        self._client: Any = None

    def __enter__(self) -> Stack:
        watch_whole_run()  # the results file's foreign_cpu_share: from here to write_result
        for var in [v for v in os.environ if v.startswith("FITSTUDIO_")]:
            os.environ.pop(var)
        os.environ.update(self.env)
        from server.services.bootstrap import migrate
        from server.settings import get_settings

        get_settings.cache_clear()
        self.settings = get_settings()
        self.settings.ensure_dirs()
        migrate(self.settings)
        from server.db import session_scope
        from server.services import auth

        with session_scope() as db:
            user = auth.create_user(db, "bench", password="bench-pw-1")
            self.token = auth.create_token(db, user, "bench")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        for proc in reversed(self.procs):
            stop(proc)
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            print(f"kept {self.folder}")

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        out = open(log, "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            [PY, "-m", "fitstudio.cli", *args],
            env={**os.environ},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.procs.append(proc)
        return proc

    def start_api(self) -> str:
        """Start `fitstudio api` on a free loopback port; returns its base URL once /healthz answers."""
        import httpx

        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_proc = self._spawn(["api", "--host", "127.0.0.1", "--port", str(port)], self.folder / "api.log")

        def up() -> bool:
            if self.api_proc is not None and self.api_proc.poll() is not None:
                raise RuntimeError("the API exited:\n" + (self.folder / "api.log").read_text()[-2000:])
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait(up, 120, "the API server")
        return self.base_url

    def start_up(self) -> tuple[subprocess.Popen[bytes], float]:
        """Start `fitstudio up` (API, web UI, its supervised worker) on a free port; returns it and the seconds until
        /readyz answered 200."""
        import httpx

        port, started = free_port(), time.monotonic()
        self.base_url = f"http://127.0.0.1:{port}"
        up = self._spawn(["up", "--port", str(port)], self.folder / "up.log")

        def ready() -> float | None:
            if up.poll() is not None:
                raise RuntimeError("fitstudio up exited:\n" + (self.folder / "up.log").read_text()[-3000:])
            try:
                ok = httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return None
            return time.monotonic() - started if ok else None

        return up, wait(ready, 300, "fitstudio up's /readyz")

    def start_worker(self, name: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """Start `fitstudio worker` on the cpu queue; returns once Celery says it is ready."""
        log = self.folder / f"worker-{name}.log"
        proc = self._spawn(["worker", "--queues", "cpu", "--name", name, "--concurrency", str(concurrency)], log)

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited:\n" + log.read_text(errors="replace")[-2000:])
            return log.exists() and " ready" in log.read_text(errors="replace")

        wait(ready, 120, f"worker {name}")
        return proc

    @property
    def client(self) -> Any:
        """An httpx.Client on the API with the bench user's token."""
        import httpx

        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url + "/api/v1", timeout=600, headers={"Authorization": f"Bearer {self.token}"}
            )
        return self._client

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        """One API call; raises with the body unless the status is EXPECT."""
        r = self.client.request(method, path, **kw)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    # ------------------------------------------------------------ fitstudio objects

    def project(self, key: str = PROJECT) -> str:
        """Create project KEY (once)."""
        r = self.client.get(f"/projects/{key}")
        if r.status_code != 200:
            self.call("POST", "/projects", 201, json={"key": key, "name": key.lower()})
        return key

    def upload(self, path: Path, name: str, key: str = PROJECT) -> dict[str, Any]:
        """Upload the file at PATH as dataset NAME (streamed from disk)."""
        with open(path, "rb") as fh:
            return self.call(
                "POST",
                f"/projects/{key}/datasets",
                201,
                data={"name": name},
                files={"file": (path.name, fh, "application/octet-stream")},
            )

    def ml_task(
        self, dataset_id: int, target: str, patch: dict[str, Any] | None = None, key: str = PROJECT
    ) -> dict[str, Any]:
        """An analysis and ML task on DATASET_ID, CPU queue, settings PATCHed (one level deep)."""
        analysis = self.call("POST", f"/projects/{key}/analyses", 201, json={"dataset_id": dataset_id})
        task = self.call("POST", f"/analyses/{analysis['id']}/ml-tasks", 201, json={"target": target})
        settings = task["settings"]
        settings["gpu"]["use_gpu"] = False
        for k, value in (patch or {}).items():
            if isinstance(value, dict) and isinstance(settings.get(k), dict):
                settings[k].update(value)
            else:
                settings[k] = value
        task["settings"] = self.call("PUT", f"/ml-tasks/{task['id']}/settings", json=settings)
        return task

    def train(self, task_id: str) -> dict[str, Any]:
        """POST /train; the queued session."""
        return self.call("POST", f"/ml-tasks/{task_id}/train", 202, json={})

    def session(self, session_id: int) -> dict[str, Any]:
        """GET /sessions/{id}."""
        return self.call("GET", f"/sessions/{session_id}")

    def wait_session(self, session_id: int, timeout: float = 1800, every: float = 0.5) -> dict[str, Any]:
        """Poll until the session ends; returns it."""

        def done() -> dict[str, Any] | None:
            body = self.session(session_id)
            return body if body["status"] in TERMINAL else None

        return wait(done, timeout, f"session {session_id}", every)

    def job(self, session_id: int, scratch: Path) -> dict[str, Any]:
        """The job document a worker would give the child for SESSION_ID's frozen design (sandbox off)."""
        from server.db import session_scope
        from server.models import TrainingSession
        from worker.runner import build_job

        with session_scope() as db:
            design = db.get(TrainingSession, session_id).design
        scratch.mkdir(parents=True, exist_ok=True)
        job = build_job(self.settings, design, scratch, None)
        job["isolation"] = "none: run directly by a benchmark"  # the worker sets it when it starts a child
        return job

    @property
    def database_file(self) -> Path:
        """The stack's SQLite database file."""
        url = self.settings.sql_url
        assert url.startswith("sqlite:///"), f"a benchmark stack runs on SQLite, not {url}"
        return Path(url.removeprefix("sqlite:///"))

    def log_path(self, session_id: int) -> Path:
        """The session's output log (written by the worker)."""
        return self.settings.artifacts / "sessions" / str(int(session_id)) / "output.log"

    def session_log(self, session_id: int) -> str:
        """The session's output log text."""
        path = self.log_path(session_id)
        return path.read_text(errors="replace") if path.exists() else ""
