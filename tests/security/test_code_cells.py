"""Code cells cannot escape the training child (operations.md "Security"), on a real worker.

One training per attempt; each ends failed with a clear reason, or succeeds with the containment proven in its
log. Afterwards a normal training still succeeds on the same worker. What the sandbox gives (bubblewrap: PID,
mount and network namespaces, an unprivileged uid, seccomp; pids cgroup, memory watch) is described in
docs/security.md; tests/security/test_sandbox.py tries to undo the sandbox itself.

Reading another project's model through the load helpers is refused by the submitter's permissions; that is
tests/e2e/test_models.py::test_code_cell_cannot_load_a_model_of_an_unreadable_project (not repeated here).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.e2e.conftest import SECRET, Runtime

pytestmark = pytest.mark.slow

FILE_SECRET = "file-secret-" + uuid.uuid4().hex  # written to HOME/secret_key for this module
RUN = uuid.uuid4().hex[:8]
TMP_TARGET = f"/tmp/pwned-{RUN}"
SHM_TARGET = f"/dev/shm/pwned-{RUN}"
CGROUPS = Path("/sys/fs/cgroup/pids/fitstudio")  # where a root worker makes each training's pids cgroup

HEAD = """import json
import os
from keras.layers import Input, Dense
from keras.models import Model


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def default_model(input_shapes, n_classes):
    main_input = Input(shape=input_shapes["main"], name="main")
    x = Dense(8, activation="relu")(main_input)
    return Model(inputs=main_input, outputs=Dense(n_classes, activation="softmax")(x))

"""


def _reversed(text: str) -> str:
    """TEXT spelled backwards in the cell, so the cell's own text (stored, logged) never holds a secret."""
    return f"{text[::-1]!r}[::-1]"


def probes(home: Path) -> dict[str, str]:
    """Attempt name -> architecture cell."""
    data_root, artifacts = home / "data", home / "artifacts"
    return {
        "environment": HEAD
        + f"""
SECRETS = [{_reversed(SECRET)}, {_reversed(FILE_SECRET)}]


def build_model(input_shapes, n_classes=None):
    leaked = [k for k in os.environ if k.startswith("FITSTUDIO_")
              or any(w in k.upper() for w in ("DATABASE", "BROKER", "SECRET", "TOKEN", "PASSWORD"))]
    leaked += ["value of " + k for k, v in os.environ.items() if any(s in v for s in SECRETS)]
    readable, denied = [], 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{{entry}}/environ", "rb") as fh:
                data = fh.read()
        except OSError:
            denied += 1
            continue
        if any(s.encode() in data for s in SECRETS):
            readable.append(entry)
    if leaked or readable:
        raise RuntimeError(f"service secrets reached user code: env {{leaked}}, /proc/<pid>/environ of {{readable}}")
    print(f"CONTAINED environment: {{len(os.environ)}} variables, no secret; "
          f"{{denied}} other processes' environments unreadable", flush=True)
    return default_model(input_shapes, n_classes)
""",
        "database": HEAD
        + f"""
def build_model(input_shapes, n_classes=None):
    got = {{}}
    for path in {[str(home / n) for n in ("fitstudio.db", "fitstudio.db-wal", "fitstudio.db-shm")]!r}:
        try:
            with open(path, "rb") as fh:
                got[path] = len(fh.read())
        except OSError as exc:
            got[path] = f"{{type(exc).__name__}}: {{exc.strerror}}"
    if any(isinstance(v, int) and v > 0 for v in got.values()):
        raise RuntimeError(f"user code read the service database: {{got}}")
    print("CONTAINED database:", json.dumps(got), flush=True)
    return default_model(input_shapes, n_classes)
""",
        "secret_key": HEAD
        + f"""
def build_model(input_shapes, n_classes=None):
    try:
        with open({str(home / "secret_key")!r}, "rb") as fh:
            got = len(fh.read())
    except OSError as exc:
        got = f"{{type(exc).__name__}}: {{exc.strerror}}"
    if isinstance(got, int) and got > 0:
        raise RuntimeError(f"user code read {{got}} bytes of the secret key file")
    print("CONTAINED secret_key:", got, flush=True)
    return default_model(input_shapes, n_classes)
""",
        "fork_bomb": HEAD
        + """
def build_model(input_shapes, n_classes=None):
    children = 0
    try:
        while True:
            if os.fork() == 0:
                os._exit(0)  # the guard: a child never forks again
            children += 1
    except OSError as exc:
        print(f"FORK-BOMB in pid {os.getpid()} stopped after {children} children: {type(exc).__name__}: {exc}",
              flush=True)
        raise
""",
        "memory": HEAD
        + """
import numpy


def build_model(input_shapes, n_classes=None):
    hog = numpy.ones(50 * 2**30 // 8)  # 50 GB
    return default_model(input_shapes, n_classes + int(hog[-1]) - 1)
""",
        "write_outside": HEAD
        + f"""
def build_model(input_shapes, n_classes=None):
    results = {{}}
    for path in {[TMP_TARGET, SHM_TARGET, str(data_root / "pwned.txt"), str(artifacts / "pwned.txt")]!r}:
        try:
            with open(path, "w") as fh:
                fh.write("pwned")
            results[path] = "WROTE"
        except OSError as exc:
            results[path] = exc.errno
    print("WRITE-RESULTS " + json.dumps(results), flush=True)
    with open({str(home / "pwned.txt")!r}, "w") as fh:
        fh.write("pwned")
    return default_model(input_shapes, n_classes)
""",
        "network": HEAD
        + """
import socket


def build_model(input_shapes, n_classes=None):
    for port in (6379, 8000):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
            print("CONNECTED to", port, flush=True)
        except OSError as exc:
            print("NO-CONNECTION", port, exc.errno, exc.strerror, flush=True)
    socket.create_connection(("127.0.0.1", 5432), timeout=3)  # PostgreSQL's port: this raises
    return default_model(input_shapes, n_classes)
""",
    }


def _zombies() -> int:
    import psutil

    count = 0
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            count += 1
    return count


@pytest.fixture(scope="module")
def dataset(runtime: Runtime) -> int:
    from server.services.bootstrap import demo_bytes

    return runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())


@pytest.fixture(scope="module")
def attempts(runtime: Runtime, dataset: int) -> dict[str, dict[str, Any]]:
    """Every attempt submitted at once (the worker runs two at a time); name -> {id, final session, log}."""
    (runtime.home / "secret_key").write_text(FILE_SECRET)
    zombies_before = _zombies()
    cgroups_before = sorted(p.name for p in CGROUPS.iterdir() if p.is_dir()) if CGROUPS.is_dir() else []
    submitted = {}
    for name, cell in probes(runtime.home).items():
        task = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": cell}})
        submitted[name] = runtime.train(task["id"])["id"]
    out: dict[str, dict[str, Any]] = {}
    for name, session_id in submitted.items():
        final = runtime.wait(session_id, timeout=300)
        log = runtime.api.get(f"/api/v1/sessions/{session_id}/log").text
        out[name] = {"id": session_id, "final": final, "log": log}
    out["_before"] = {"zombies": zombies_before, "cgroups": cgroups_before}
    return out


def _ended(attempts: dict[str, dict[str, Any]], name: str, status: str, runtime: Runtime) -> dict[str, Any]:
    got = attempts[name]
    final = got["final"]
    error = final["error"] or {}
    print(f"\n{name}: {final['status']} {error.get('type') or ''} {(error.get('message') or '')[:160]}")
    assert final["status"] == status, (name, final["status"], final["error"], got["log"][-3000:], runtime.log_tail())
    assert SECRET not in got["log"] and FILE_SECRET not in got["log"], f"{name}: a secret reached the session log"
    return got


def test_the_service_environment_is_not_visible(runtime: Runtime, attempts: dict[str, Any]) -> None:
    got = _ended(attempts, "environment", "succeeded", runtime)
    denied = re.search(r"CONTAINED environment: .* (\d+) other processes' environments unreadable", got["log"])
    assert denied, got["log"][-2000:]
    assert int(denied.group(1)) > 0, "the worker's /proc/<pid>/environ was readable (it holds the service settings)"


def test_the_database_file_reads_as_empty(runtime: Runtime, attempts: dict[str, Any]) -> None:
    got = _ended(attempts, "database", "succeeded", runtime)
    line = next(x for x in got["log"].splitlines() if x.startswith("CONTAINED database:"))
    results = json.loads(line.split(":", 1)[1])
    # Outside the sandbox's view: the file does not exist for user code.
    assert results[str(runtime.home / "fitstudio.db")] == "FileNotFoundError: No such file or directory", results


def test_the_secret_key_file_reads_as_empty(runtime: Runtime, attempts: dict[str, Any]) -> None:
    got = _ended(attempts, "secret_key", "succeeded", runtime)
    assert "CONTAINED secret_key: FileNotFoundError" in got["log"], got["log"][-2000:]
    assert (runtime.home / "secret_key").read_text() == FILE_SECRET  # masked for the child, intact for the service


def test_a_fork_bomb_fails_the_session_and_leaves_nothing(runtime: Runtime, attempts: dict[str, Any]) -> None:
    import psutil

    got = _ended(attempts, "fork_bomb", "failed", runtime)
    error = got["final"]["error"]
    assert error["type"] in ("BlockingIOError", "process_limit"), error
    if error["type"] == "BlockingIOError":
        assert re.search(r"FORK-BOMB in pid \d+ stopped", got["log"]) and error["cell"] == "architecture", error
    else:
        assert "FITSTUDIO_TRAINING_MAX_PROCESSES" in error["message"]
    scratch = f"s{got['id']}-l"
    folder = str(runtime.home / "scratch" / scratch)
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if any(folder in part for part in p.info["cmdline"] or [])]
    assert not left, f"processes of the bombed training are still alive: {left}"
    if CGROUPS.is_dir():  # the worker made a pids cgroup `<scratch>-<pid>` for the training; it must be gone
        pid = re.search(r"FORK-BOMB in pid (\d+)", got["log"])
        new = [p.name for p in CGROUPS.iterdir() if p.name not in attempts["_before"]["cgroups"]]
        mine = [n for n in new if n.startswith(scratch) and (pid is None or n.endswith(f"-{pid.group(1)}"))]
        assert not mine, f"its pids cgroup was not removed: {mine}"
    # The bomb's exited children are reparented to init when the training ends; init reaps them in its own time.
    helpers.wait_for(lambda: _zombies() - attempts["_before"]["zombies"] < 50, 60, "the bomb's children to be reaped")


def test_allocating_50_gb_fails_the_session(runtime: Runtime, attempts: dict[str, Any]) -> None:
    got = _ended(attempts, "memory", "failed", runtime)
    error = got["final"]["error"]
    assert error["type"] in ("MemoryError", "memory_limit"), error
    if error["type"] == "memory_limit":
        assert "3000 MB" in error["message"], error
    else:
        assert error["cell"] == "architecture" and error["line"], error


def test_writing_outside_the_scratch_directory_fails(runtime: Runtime, attempts: dict[str, Any]) -> None:
    import errno

    got = _ended(attempts, "write_outside", "failed", runtime)
    error = got["final"]["error"]
    assert error["type"] == "PermissionError" and "Permission denied" in error["message"], error
    assert error["cell"] == "architecture" and error["line"], error
    line = next(x for x in got["log"].splitlines() if x.startswith("WRITE-RESULTS "))
    results = json.loads(line.removeprefix("WRITE-RESULTS "))
    for path, outcome in results.items():
        if path not in (SHM_TARGET, TMP_TARGET):
            assert outcome in (errno.EACCES, errno.EROFS), (path, outcome)
    # /tmp is the training's own, in its scratch folder (keras.io writes checkpoints there): the write succeeds
    # and the host's /tmp never sees it (below)
    assert results[TMP_TARGET] == "WROTE"
    for path in (
        runtime.home / "pwned.txt",
        Path(TMP_TARGET),
        runtime.home / "data" / "pwned.txt",
        runtime.home / "artifacts" / "pwned.txt",
    ):
        assert not path.exists(), f"user code wrote {path}"


def test_shared_memory_is_private(runtime: Runtime, attempts: dict[str, Any]) -> None:
    """User code gets its own /dev/shm: what it writes there never reaches the host's."""
    got = attempts["write_outside"]
    try:
        line = next(x for x in got["log"].splitlines() if x.startswith("WRITE-RESULTS "))
        assert SHM_TARGET in json.loads(line.removeprefix("WRITE-RESULTS "))
        assert not Path(SHM_TARGET).exists(), "the child's /dev/shm is the host's"
    finally:
        Path(SHM_TARGET).unlink(missing_ok=True)


def test_the_network_is_unreachable(runtime: Runtime, attempts: dict[str, Any]) -> None:
    got = _ended(attempts, "network", "failed", runtime)
    error = got["final"]["error"]
    # The training's own network namespace has a loopback and nothing listening on it.
    assert error["type"] == "ConnectionRefusedError", error
    assert "CONNECTED" not in got["log"]
    assert error["cell"] == "architecture", error


def test_a_normal_training_still_succeeds_afterwards(runtime: Runtime, dataset: int, attempts: dict[str, Any]) -> None:
    started = time.monotonic()
    task = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert final["trained_model_id"]
    assert "isolation: bubblewrap sandbox" in runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    print(f"\nnormal training after the attempts: {time.monotonic() - started:.1f}s")


def test_loading_another_projects_model_is_covered_elsewhere() -> None:
    """The load helpers check the submitter's permissions; the end-to-end test for it lives with the model tests."""
    source = (Path(__file__).resolve().parents[1] / "e2e" / "test_models.py").read_text()
    assert "def test_code_cell_cannot_load_a_model_of_an_unreadable_project(" in source
