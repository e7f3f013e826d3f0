"""Broker restart, database restart and API restart while trainings run (PostgreSQL + Redis, real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.reliability.conftest import Cluster, epochs_of

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def _redis_up() -> bool:
    return helpers.redis_problem() is None


def _redis_pid() -> int:
    import redis

    return int(redis.Redis.from_url(helpers.REDIS_URL, socket_connect_timeout=3).info("server")["process_id"])


def _postgres_pid() -> int:
    """The postmaster's pid: the parent of this connection's backend, read while the backend lives (it ends with the
    connection)."""
    import psycopg

    with psycopg.connect(helpers.PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        stat = Path(f"/proc/{row[0]}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state: the parent's pid


def _cgroups(pid: int) -> dict[str, str]:
    """Process PID's cgroup in each hierarchy, keyed as /proc/PID/cgroup names them ("memory", "name=systemd", "")."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return {controllers: path for _, controllers, path in (line.split(":", 2) for line in lines)}


def _cgroup_mount(controllers: str) -> Path | None:
    """Where the hierarchy of CONTROLLERS (a key of _cgroups) is mounted, or None."""
    wanted = set(controllers.split(","))
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, _source, options = [*tail.split(" "), "", ""][:3]
        if (fstype == "cgroup2" and not controllers) or (
            fstype == "cgroup" and controllers and wanted <= set(options.split(","))
        ):
            return Path(fields.split(" ")[4])
    return None


def _beside(pid: int) -> Callable[[], None]:
    """A preexec_fn that moves the process it starts into process PID's cgroups, where they differ from this test's.
    A service this test restarts then runs where its process manager put it, not in the test's own session, whose end
    kills its cgroup (a CI runner's, a login session's): the services must outlive the test run as they were."""
    mine = _cgroups(os.getpid())
    targets = []
    for controllers, path in _cgroups(pid).items():
        mount = _cgroup_mount(controllers)
        if mine.get(controllers) != path and mount is not None:
            targets.append(mount / path.lstrip("/") / "cgroup.procs")

    def move() -> None:
        for procs in targets:
            try:
                procs.write_text(str(os.getpid()))
            except OSError:
                pass  # not ours to change (not root): the service runs where this test does, as it would by hand

    return move


def _same_cgroups(before: dict[str, str], pid: int) -> None:
    """Where this test may move processes (root), the restarted service PID is back in cgroups BEFORE."""
    if os.geteuid() == 0:
        assert _cgroups(pid) == before, "the restarted service runs where the one it replaced ran"


def _start_redis(beside: Callable[[], None]) -> None:
    try:
        subprocess.run(REDIS_START, check=True, capture_output=True, timeout=30, preexec_fn=beside)
    except (OSError, subprocess.CalledProcessError):
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no"],
            check=True,
            capture_output=True,
            timeout=30,
            preexec_fn=beside,
        )


def _restart_redis() -> None:
    """Stop Redis without saving (queued messages are lost, as in a crash) and start it again."""
    old = _redis_pid()
    before, beside = _cgroups(old), _beside(old)
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], capture_output=True, timeout=30)
    helpers.wait_for(lambda: not _redis_up(), 20, "Redis to stop")
    try:
        _start_redis(beside)
    finally:
        helpers.wait_for(_redis_up, 30, "Redis to come back")
    _same_cgroups(before, _redis_pid())


def _restart_postgres() -> None:
    clusters = [p.name for p in Path("/etc/postgresql").iterdir()] if Path("/etc/postgresql").is_dir() else []
    assert clusters, "this test restarts the local PostgreSQL cluster; none found under /etc/postgresql"
    old = _postgres_pid()
    before = _cgroups(old)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[0], "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
        preexec_fn=_beside(old),
    )
    helpers.wait_for(lambda: helpers.postgres_problem() is None, 60, "PostgreSQL to come back")
    _same_cgroups(before, _postgres_pid())


def test_broker_restart_loses_no_session(cluster: Cluster) -> None:
    cluster.worker("b1", concurrency=1)
    task = cluster.long_task(epochs=8)
    first = cluster.train(task)
    cluster.wait(first, lambda s: s["status"] == "running" and len(s["history"]) >= 1, 180, "the first session to run")
    queued = [cluster.train(task) for _ in range(2)]
    assert all(cluster.session(s)["status"] == "queued" for s in queued)
    _restart_redis()
    finals = [cluster.wait_end(s, timeout=300) for s in [first, *queued]]
    assert [f["status"] for f in finals] == ["succeeded"] * 3, (finals, cluster.worker_logs())
    for final in finals:
        assert epochs_of(final) == list(range(1, 9)), "each session trained once, every epoch once"


def test_database_restart_during_training(cluster: Cluster) -> None:
    cluster.worker("p1")
    task = cluster.long_task(epochs=12)
    sid = cluster.train(task)
    cluster.wait(sid, lambda s: s["status"] == "running" and len(s["history"]) >= 2, 180, "two epochs")
    _restart_postgres()
    final = cluster.wait_end(sid, timeout=300)
    assert final["status"] == "succeeded", (final["error"], cluster.worker_logs())
    assert epochs_of(final) == list(range(1, 13)), "no gap in the history"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_api(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fitstudio.cli", "api", "--port", str(port)],
        env=dict(os.environ),
        cwd=helpers.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    helpers.wait_for(up, 60, "the API")
    return proc


def _read_events(
    client: httpx.Client, url: str, last_id: str | None, stop_after_epochs: int | None
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Read SSE frames until `end` (or STOP_AFTER_EPOCHS epoch events); returns epochs, last id, ended."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    epochs: list[dict[str, Any]] = []
    event, data, ident = None, None, last_id
    with client.stream("GET", url, headers=headers, timeout=120) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and event:
                if event == "epoch":
                    epochs.append(data)
                    if stop_after_epochs and len(epochs) >= stop_after_epochs:
                        return epochs, ident, False
                if event == "end":
                    return epochs, ident, True
                event = None
    return epochs, ident, False


def test_api_restart_sse_clients_miss_no_epoch(cluster: Cluster) -> None:
    cluster.worker("a1")
    task = cluster.long_task(epochs=10)
    sid = cluster.train(task)
    port = _free_port()
    api = _start_api(port)
    url = f"http://127.0.0.1:{port}/api/v1/sessions/{sid}/events"
    client = httpx.Client(headers=cluster.api.headers())
    try:
        seen, last_id, ended = _read_events(client, url, None, stop_after_epochs=2)
        assert not ended and [e["epoch"] for e in seen] == [1, 2]
        os.killpg(api.pid, signal.SIGKILL)
        api.wait(timeout=10)
        time.sleep(2)  # epochs go on while the API is down
        api = _start_api(port)
        more, _, ended = _read_events(client, url, last_id, stop_after_epochs=None)
        assert ended
        assert [e["epoch"] for e in seen + more] == list(range(1, 11)), "each epoch exactly once across the restart"
    finally:
        client.close()
        helpers.stop_process(api)
