"""Helpers shared by tests: service availability, worker processes, waiting for sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("FITSTUDIO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FITSTUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(name: str, problem: str | None) -> None:
    """Fail (in CI) or skip (locally) when a service the test needs is not there."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{name} is required when CI=true but is not reachable: {problem}")
    pytest.skip(f"{name} not reachable ({problem}); it is required in CI")


def postgres_problem() -> str | None:
    """None when PostgreSQL answers at PG_ADMIN_URL, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def redis_problem() -> str | None:
    """None when Redis answers at REDIS_URL, else why not."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    import psycopg

    name = f"fitstudio_t_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database."""
    import psycopg

    from server.db import engine_for

    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    admin = PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_worker(
    name: str,
    queues: str = "gpu,cpu",
    extra_env: dict[str, str] | None = None,
    args: list[str] | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A real `fitstudio worker` process with the current environment (the test's settings)."""
    env = {**os.environ, **(extra_env or {})}
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fitstudio.cli",
            "worker",
            "--queues",
            queues,
            "--name",
            name,
            "--loglevel",
            "info",
            *(args or []),
        ],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def free_port() -> int:
    """A TCP port nobody listens on now (on 127.0.0.1)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def up_env(home: Path, **values: str) -> dict[str, str]:
    """The environment of a `fitstudio up` on HOME: none of the test run's FITSTUDIO_* settings, plus VALUES."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSTUDIO_")}
    env["FITSTUDIO_HOME"] = str(home)
    env.update({f"FITSTUDIO_{key.upper()}": value for key, value in values.items()})
    return env


def start_up(home: Path, log: Path, port: int, **values: str) -> subprocess.Popen[bytes]:
    """A real `fitstudio up` on HOME and PORT (settings VALUES), its output in LOG, in a process group of its own."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fitstudio.cli", "up", "--port", str(port)],
            cwd=ROOT,
            env=up_env(home, **values),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_up(proc: subprocess.Popen[bytes], log: Path, base: str, timeout: float = 300) -> str:
    """The API token `fitstudio up` printed, once BASE/healthz answers; fails if the process ends first."""
    import re

    import httpx

    def token() -> str | None:
        found = re.search(r"login\?token=(\S+)", log.read_text(errors="replace"))
        if not found:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            return None
        try:
            return found.group(1) if httpx.get(f"{base}/healthz", timeout=2).status_code == 200 else None
        except httpx.HTTPError:
            return None

    return str(wait_for(token, timeout, "fitstudio up to serve", every=0.5))


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM, wait, then SIGKILL the whole group."""
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll PREDICATE until it returns something truthy; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    from sqlalchemy import event

    from server.db import get_engine

    engine = get_engine()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def steps_per_epoch(model: Any, ds: Any, epochs: int) -> list[tuple[int | None, int]]:
    """Fit the compiled MODEL on DS for EPOCHS: per epoch, the batch count Keras knew at its start
    (params["steps"], what a session's progress shows as "of n") and the batches it trained."""
    import keras

    seen: list[tuple[int | None, int]] = []

    class Steps(keras.callbacks.Callback):  # type: ignore[misc, name-defined]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            seen.append((self.params.get("steps"), 0))

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            seen[-1] = (seen[-1][0], batch + 1)

    model.fit(ds, epochs=epochs, verbose=0, callbacks=[Steps()])
    return seen
