"""The training sandbox holds against a hostile code cell (issue 13), on the embedded and the PostgreSQL + Redis setups.

Each attempt runs from a real code cell in a real worker's bubblewrap sandbox and must fail as docs/security.md says:
unmount or remount, write /proc/sys or the cgroup tree, reach the PostgreSQL / Redis Unix sockets or TCP ports,
read another project's dataset and model files or the service's own files, regain privileges (user namespaces,
ptrace), kill the worker or the sandbox's init, leave a daemon behind, flood the event pipe while over the memory
limit. Afterwards the worker trains the next session as usual.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests import helpers
from tests.conftest import Api, configure, make_api
from tests.e2e.conftest import SECRET
from tests.security.test_code_cells import HEAD as CELL_HEAD

pytestmark = pytest.mark.slow

LEAKED = "leaked-" + uuid.uuid4().hex
MARKER = "fitstudio-daemon-" + uuid.uuid4().hex[:10]  # in the daemon's command line, to find it on the host
PG_SOCKETS = ["/var/run/postgresql/.s.PGSQL.5432", "/run/postgresql/.s.PGSQL.5432", "/tmp/.s.PGSQL.5432"]
REDIS_SOCKETS = ["/var/run/redis/redis-server.sock", "/run/redis/redis-server.sock", "/tmp/redis.sock"]

HEAD = "import ctypes\nimport signal\nimport socket\n" + CELL_HEAD  # json, os, keras; compile_model, default_model

PROBE = """
libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH, MS_REMOUNT, MS_BIND, MS_RDONLY = 2, 0x20, 0x1000, 0x1
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000


def _call(result):
    return "ALLOWED" if result == 0 else "refused " + os.strerror(ctypes.get_errno())


def _open(path, mode):
    try:
        with open(path, mode):
            return "ALLOWED"
    except OSError as exc:
        return "refused " + (exc.strerror or type(exc).__name__)


def _unix(path):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(path)
        s.close()
        return "ALLOWED"
    except OSError as exc:
        return "refused " + (exc.strerror or type(exc).__name__)


def _tcp(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "ALLOWED"
    except OSError as exc:
        return "refused " + (exc.strerror or type(exc).__name__)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
        return "ALLOWED"
    except OSError as exc:
        return "refused " + exc.strerror


def build_model(input_shapes, n_classes=None):
    job = json.load(open("job.json"))
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    report = {
        "uid": os.getuid(), "euid": os.geteuid(), "pid": os.getpid(), "ppid": os.getppid(),
        "CapEff": status["CapEff"].strip(), "CapBnd": status["CapBnd"].strip(),
        "NoNewPrivs": status["NoNewPrivs"].strip(), "Seccomp": status["Seccomp"].strip(),
        "root": sorted(os.listdir("/")),
        "tmp": sorted(os.listdir("/tmp")) if os.path.isdir("/tmp") else None,
        "tmp_write": _open(TMP_FILE, "w"),
        "cwd_writable": _open("relative-file.txt", "w"),
        "attempts": {
            "umount /usr": _call(libc.umount2(b"/usr", MNT_DETACH)),
            "umount the dataset": _call(libc.umount2(job["dataset"]["parquet"].encode(), MNT_DETACH)),
            "remount / read-write": _call(libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None)),
            "remount /usr read-write": _call(libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None)),
            "mount a tmpfs": _call(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None)),
            "unshare a user namespace": _call(libc.unshare(CLONE_NEWUSER)),
            "unshare a mount namespace": _call(libc.unshare(CLONE_NEWNS)),
            "unshare a network namespace": _call(libc.unshare(CLONE_NEWNET)),
            "ptrace pid 1": _call(libc.ptrace(16, 1, None, None)),
            "write /proc/sys/kernel/core_pattern": _open("/proc/sys/kernel/core_pattern", "w"),
            "write /proc/sysrq-trigger": _open("/proc/sysrq-trigger", "w"),
            "leave the cgroup (v1)": _open("/sys/fs/cgroup/pids/cgroup.procs", "w"),
            "leave the cgroup (v2)": _open("/sys/fs/cgroup/cgroup.procs", "w"),
            "join the service's cpu cgroup": _open("/sys/fs/cgroup/cpu/fitstudio/service/cgroup.procs", "w"),
            "join the uploads' cpu cgroup": _open("/sys/fs/cgroup/cpu/fitstudio/uploads/cgroup.procs", "w"),
            "raise its cpu weight (v1)": _open("/sys/fs/cgroup/cpu/cpu.shares", "w"),
            "raise its cpu weight (v2)": _open("/sys/fs/cgroup/cpu.weight", "w"),
            "write /sys": _open("/sys/kernel/uevent_helper", "w"),
            "create a file at /": _open("/pwned", "w"),
            "kill the sandbox's init": _kill(1, signal.SIGKILL),
            "kill the worker": _kill(WORKER_PID, signal.SIGKILL),
            "kill the parent": _kill(os.getppid(), signal.SIGKILL),
            "tcp 5432": _tcp(5432), "tcp 6379": _tcp(6379), "tcp 8000": _tcp(8000),
            **{"unix " + p: _unix(p) for p in UNIX_SOCKETS},
            **{"read " + p: _open(p, "rb") for p in FORBIDDEN_READS},
            **{"write " + p: _open(p, "w") for p in FORBIDDEN_WRITES},
        },
    }
    print("SANDBOX-REPORT " + json.dumps(report), flush=True)
    return default_model(input_shapes, n_classes)
"""

DAEMON = f"""
import subprocess
import sys


def build_model(input_shapes, n_classes=None):
    code = "import os, time; os.setsid(); time.sleep(3600)  # {MARKER}"
    subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    if os.fork() == 0:  # a classic double fork as well
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(3600)  # {MARKER}"])
        os._exit(0)
    print("DAEMONS-STARTED", flush=True)
    return default_model(input_shapes, n_classes)
"""

FLOOD = """
import threading
import numpy
from fitstudio.deep_learning import _context

REQUEST = (json.dumps({"type": "request", "id": 1, "kind": "model_location", "source": "saved",
                       "saved_model_id": 1}) + "\\n").encode()


def _flood():
    out = os.fdopen(os.dup(_context.channel._out.fileno()), "wb", buffering=0)
    while True:
        out.write(REQUEST * 50)  # requests whose answers are never read


def build_model(input_shapes, n_classes=None):
    threading.Thread(target=_flood, daemon=True).start()
    hog = numpy.ones(600_000_000)  # 4.8 GB, every page touched: over the 3000 MB limit
    while True:
        hog[::4096] += 1
"""

CHATTY = """
import sys


def build_model(input_shapes, n_classes=None):
    line = "x" * 1023 + "\\n"
    for _ in range(4096):  # 4 MB of output against a 1 MB log cap
        sys.stdout.write(line)
    sys.stdout.flush()
    print("CHATTY-DONE", flush=True)
    return default_model(input_shapes, n_classes)
"""

DISK_FULL = """
def build_model(input_shapes, n_classes=None):
    with open("/dev/full", "wb") as fh:  # the kernel answers every write with ENOSPC, as a full disk does
        fh.write(b"x" * 65536)
        fh.flush()
    return default_model(input_shapes, n_classes)
"""

LINKS = """
def build_model(input_shapes, n_classes=None):
    job = json.load(open("job.json"))
    # The worker reads error.json after the child: a link to a host file it can read but the cell cannot.
    os.symlink(LEAK_FILE, os.path.join(job["out_dir"], "error.json"))
    print("LINK-PLANTED", flush=True)
    os._exit(1)  # so the child's own error handler does not replace the link
"""

KILLER = """
def build_model(input_shapes, n_classes=None):
    for pid in range(1, 400):  # every pid number the sandbox might show, and -1: all it may signal
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    print("KILLER-SURVIVED", flush=True)
    return default_model(input_shapes, n_classes)
"""


@dataclass
class Setup:
    """A worker on one setup, the project under attack and another project's files."""

    name: str
    api: Api
    home: Path
    worker: Any
    log: Path
    dataset: int
    other_files: list[str]
    leak_file: Path


def _task(setup_api: Api, dataset: int, architecture: str | None, epochs: int = 1) -> str:
    r = setup_api.post("/api/v1/projects/SBX/analyses", json={"dataset_id": dataset})
    assert r.status_code == 201, r.text
    task = setup_api.post(f"/api/v1/analyses/{r.json()['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["epochs"] = epochs
    if architecture:
        settings["code"]["architecture"] = architecture
    assert setup_api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    return task["id"]


def _train(setup: Setup, task_id: str) -> int:
    r = setup.api.post(f"/api/v1/ml-tasks/{task_id}/train", json={})
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def _wait(setup: Setup, session_id: int, timeout: float = 300) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = setup.api.get(f"/api/v1/sessions/{session_id}").json()
        return body if body["status"] in ("succeeded", "failed", "aborted") else None

    return helpers.wait_for(done, timeout, f"session {session_id} to end", every=0.3)


def _other_project_files(setup_api: Api, home: Path) -> list[str]:
    """A dataset and a trained model of project OTHER: real files the attacker's project must not open."""
    from server.services.bootstrap import demo_bytes

    assert setup_api.post("/api/v1/projects", json={"key": "OTHER", "name": "other"}).status_code == 201
    r = setup_api.upload_csv("OTHER", "iris", demo_bytes("iris").getvalue())
    assert r.status_code == 201, r.text
    files = [str(p) for p in (home / "data").rglob("*") if p.is_file()]
    assert files, "the other project's dataset wrote no file"
    return files


def _start(name: str, mp: pytest.MonkeyPatch, home: Path, **extra: str) -> Setup:
    from server.services.bootstrap import demo_bytes, migrate

    settings = configure(mp, home, secret_key=SECRET, training_memory_mb="3000", max_log_mb="1", **extra)
    migrate(settings)
    (home / "secret_key").write_text("file-secret-" + uuid.uuid4().hex)
    api = make_api(settings)
    other = _other_project_files(api, home)
    assert api.post("/api/v1/projects", json={"key": "SBX", "name": "sandbox"}).status_code == 201
    r = api.upload_csv("SBX", "bc", demo_bytes("breast_cancer").getvalue())
    assert r.status_code == 201, r.text
    log = home.parent / "worker.log"
    worker = helpers.start_worker(f"sbx-{name}-{os.getpid()}", queues="cpu", args=["--concurrency", "2"], log=log)
    leak = home / "leak.json"  # a JSON document shaped like error.json, outside the sandbox's view
    leak.write_text(json.dumps({"type": "Leak", "message": LEAKED, "cell": None, "line": None, "traceback": None}))
    return Setup(name, api, home, worker, log, int(r.json()["id"]), other, leak)


@pytest.fixture(scope="module", params=["embedded", "postgres_redis"])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A worker (2 trainings at once, 3000 MB memory limit) on SQLite + the embedded broker, or PostgreSQL + Redis."""
    mp = pytest.MonkeyPatch()
    pg_url = None
    try:
        extra: dict[str, str] = {}
        if request.param == "postgres_redis":
            helpers.require_service("PostgreSQL", helpers.postgres_problem())
            helpers.require_service("Redis", helpers.redis_problem())
            pg_url = helpers.create_pg_database()
            extra = {"database_url": pg_url, "broker_url": helpers.REDIS_URL}
        home = tmp_path_factory.mktemp(f"sbx-{request.param}") / "home"
        built = _start(request.param, mp, home, **extra)
        try:
            yield built
        finally:
            helpers.stop_process(built.worker)
    finally:
        mp.undo()
        from server.settings import get_settings

        get_settings.cache_clear()
        if pg_url:
            helpers.drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def attempts(setup: Setup) -> dict[str, dict[str, Any]]:
    """Every attempt submitted at once; name -> {id, final session, log, seconds}."""
    home = setup.home
    forbidden_reads = [
        *setup.other_files,
        str(home / "secret_key"),
        str(home / "fitstudio.db"),
        str(home / "fitstudio.db-wal"),
        str(setup.log),
        "/etc/shadow",
    ]
    forbidden_writes = [str(home / "pwned.txt"), str(home / "data" / "pwned.txt")]
    probe = (
        HEAD
        + f"WORKER_PID = {setup.worker.pid}\n"
        + f"UNIX_SOCKETS = {PG_SOCKETS + REDIS_SOCKETS!r}\n"
        + f"FORBIDDEN_READS = {forbidden_reads!r}\n"
        + f"FORBIDDEN_WRITES = {forbidden_writes!r}\n"
        + f"TMP_FILE = {'/tmp/pwned-' + MARKER!r}\n"
        + PROBE
    )
    from tests.security.test_code_cells import probes

    cells = {
        "probe": probe,
        "daemon": HEAD + DAEMON,
        "flood": HEAD + FLOOD,
        "killer": HEAD + KILLER,
        "fork_bomb": probes(home)["fork_bomb"],
        "links": HEAD + f"LEAK_FILE = {str(setup.leak_file)!r}\n" + LINKS,
        "chatty": HEAD + CHATTY,
        "disk_full": HEAD + DISK_FULL,
    }
    helpers.wait_for(lambda: setup.api.get("/api/v1/workers").json(), 120, "the worker to be ready", every=0.2)
    submitted = {
        name: (_train(setup, _task(setup.api, setup.dataset, cell)), time.monotonic()) for name, cell in cells.items()
    }
    out: dict[str, dict[str, Any]] = {}
    for name, (session_id, started) in submitted.items():
        final = _wait(setup, session_id)
        log = setup.api.get(f"/api/v1/sessions/{session_id}/log").text
        out[name] = {"id": session_id, "final": final, "log": log, "seconds": time.monotonic() - started}
    return out


def _ended(setup: Setup, got: dict[str, Any], status: str) -> dict[str, Any]:
    final = got["final"]
    error = final["error"] or {}
    print(f"\n[{setup.name}] {final['status']} {error.get('type') or ''} {(error.get('message') or '')[:200]}")
    assert final["status"] == status, (final["status"], error, got["log"][-3000:], setup.log.read_text()[-3000:])
    return final


def _report(got: dict[str, Any]) -> dict[str, Any]:
    line = next((x for x in got["log"].splitlines() if x.startswith("SANDBOX-REPORT ")), None)
    assert line, got["log"][-3000:]
    return json.loads(line.removeprefix("SANDBOX-REPORT "))


def test_user_code_runs_unprivileged(setup: Setup, attempts: dict[str, Any]) -> None:
    _ended(setup, attempts["probe"], "succeeded")
    report = _report(attempts["probe"])
    assert report["uid"] != 0 and report["euid"] != 0, report
    assert report["CapEff"] == "0000000000000000" and report["CapBnd"] == "0000000000000000", report
    assert report["NoNewPrivs"] == "1" and report["Seccomp"] == "2", report
    assert report["ppid"] == 1 and report["pid"] == 2, "the training is not alone in its own PID namespace"
    assert report["cwd_writable"] == "ALLOWED", "the working folder is not writable"


def test_every_escape_attempt_is_refused(setup: Setup, attempts: dict[str, Any]) -> None:
    report = _report(attempts["probe"])
    allowed = {name: result for name, result in report["attempts"].items() if not result.startswith("refused")}
    print(json.dumps(report["attempts"], indent=1))
    assert not allowed, f"the sandbox let these through: {allowed}"
    assert len(report["attempts"]) >= 30, report["attempts"]


def test_the_filesystem_shows_only_what_a_training_needs(setup: Setup, attempts: dict[str, Any]) -> None:
    report = _report(attempts["probe"])
    assert not {"run", "var", "home", "opt", "srv", "mnt", "boot"} & set(report["root"]), report["root"]
    # /tmp is the training's own (its TMPDIR, in its scratch folder), writable as code published for Keras expects:
    # none of the host's /tmp shows there (no sockets, no other process's files), only the first folder of each
    # bound path under /tmp (the test's FITSTUDIO_HOME, a checkout or venv under /tmp), and what it writes there
    # stays in its scratch folder (the host's /tmp/pwned-… is checked below)
    bound = [setup.home, helpers.ROOT, Path(sys.prefix), Path(sys.base_prefix)]
    under_tmp = sorted({p.resolve().relative_to("/tmp").parts[0] for p in bound if p.resolve().is_relative_to("/tmp")})
    assert set(under_tmp) <= set(report["tmp"]), report["tmp"]
    assert not (set(os.listdir("/tmp")) - set(under_tmp)) & set(report["tmp"]), report["tmp"]
    assert report["tmp_write"] == "ALLOWED"
    for path in (setup.home / "pwned.txt", setup.home / "data" / "pwned.txt", Path("/tmp/pwned-" + MARKER)):
        assert not path.exists(), f"user code wrote {path}"


def test_no_daemon_outlives_its_session(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["daemon"]
    _ended(setup, got, "succeeded")
    assert "DAEMONS-STARTED" in got["log"], got["log"][-2000:]

    def survivors() -> list[int]:
        return [
            p.pid for p in psutil.process_iter(["cmdline"]) if any(MARKER in part for part in (p.info["cmdline"] or []))
        ]

    assert helpers.wait_for(lambda: not survivors(), 15, "the daemons to end", every=0.5) or True
    assert not survivors()


def test_a_flood_while_over_the_memory_limit_ends_the_session(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["flood"]
    final = _ended(setup, got, "failed")
    assert final["error"]["type"] in ("memory_limit", "event_flood"), final["error"]
    assert (
        "MB of memory" in final["error"]["message"]
        or "answers" in final["error"]["message"]
        or ("events" in final["error"]["message"])
    ), final["error"]
    print(f"flood ended after {got['seconds']:.1f}s")


def test_killing_everything_in_sight_hurts_nobody_else(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["killer"]
    final = got["final"]
    # The cell may end itself, but never the worker: it goes on to train the next session.
    assert final["status"] in ("succeeded", "failed"), final
    assert setup.worker.poll() is None, "the worker died"


def test_forking_past_the_limit_fails_the_session(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["fork_bomb"]
    final = _ended(setup, got, "failed")
    # RLIMIT_NPROC binds (the uid is not 0): fork() fails in the cell, or the supervisor counts too many processes.
    assert final["error"]["type"] in ("BlockingIOError", "process_limit"), final["error"]


def test_the_worker_never_follows_a_link_the_training_left(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["links"]
    final = _ended(setup, got, "failed")
    assert "LINK-PLANTED" in got["log"], got["log"][-2000:]
    assert LEAKED not in str(final["error"]), final["error"]
    assert final["error"]["type"] == "process_died", final["error"]


def test_a_flood_of_output_is_cut_at_the_log_cap(setup: Setup, attempts: dict[str, Any]) -> None:
    got = attempts["chatty"]
    _ended(setup, got, "succeeded")
    log = got["log"]
    assert "log truncated: the training wrote more than 1 MB (FITSTUDIO_MAX_LOG_MB)" in log, log[-500:]
    assert "CHATTY-DONE" not in log  # written after the cap: dropped
    assert (1 << 20) <= len(log.encode()) < (1 << 20) + 4096, len(log)


def test_a_full_disk_is_named_as_such(setup: Setup, attempts: dict[str, Any]) -> None:
    final = _ended(setup, attempts["disk_full"], "failed")
    error = final["error"]
    assert error["type"] == "OSError" and error["message"].startswith("The disk is full"), error
    assert error["cell"] == "architecture" and error["line"], error


def test_the_worker_trains_the_next_session(setup: Setup, attempts: dict[str, Any]) -> None:
    session_id = _train(setup, _task(setup.api, setup.dataset, None))
    final = _wait(setup, session_id)
    assert final["status"] == "succeeded", (final["error"], setup.log.read_text()[-3000:])
    log = setup.api.get(f"/api/v1/sessions/{session_id}/log").text
    assert "isolation: bubblewrap sandbox; own PID namespace; no network" in log, log[-2000:]
