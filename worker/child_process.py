"""Start the training child: scrubbed environment, own process group and scratch dir; kill its whole group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from worker import sandbox
from worker.log_pump import LogPump

# Only these variables of the worker's environment reach user code; nothing FITSTUDIO_*, no URLs, no keys.
ENV_ALLOWLIST = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "XLA_FLAGS",
    "TF_FORCE_GPU_ALLOW_GROWTH",
)


# glibc's malloc in the training child: two arenas, and the memory it frees kept for reuse instead of given back to
# the kernel and faulted in (zeroed, charged to the memory cgroup) again at the next step. Large blocks (32 MiB and
# more) are still mapped and unmapped apiece; `limits.give_back_free_memory` trims once the data is prepared.
MALLOC_TUNING = {
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(4 << 30),
    "MALLOC_TOP_PAD_": str(64 << 20),
}


def child_env(scratch: Path, gpus: list[int] | None, malloc_tuning: bool = False) -> dict[str, str]:
    """The environment of a training child: the allowlist, plus its own HOME/TMPDIR and GPU selection, and with
    MALLOC_TUNING glibc's malloc tuned as MALLOC_TUNING says (else glibc's defaults).

    With glibc's defaults, TensorFlow's threads allocate in arenas of their own (8 a core) that give freed memory
    back to the kernel: a CNN fit on 2 cores took 15 M page faults and spent 39 % of its CPU in the kernel; tuned,
    2.4-6.3 M and 13-24 %, and its epochs took a third less time (docs/benchmarks.md, "glibc's malloc in the
    training child")."""
    env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    if malloc_tuning:
        env.update(MALLOC_TUNING)
    env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch / "tmp"),
        KERAS_HOME=str(scratch / ".keras"),
        MPLCONFIGDIR=str(scratch / ".mpl"),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        KERAS_BACKEND="tensorflow",
        CUDA_VISIBLE_DEVICES=",".join(str(g) for g in gpus) if gpus else "-1",
    )
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


def start(
    job_path: Path,
    scratch: Path,
    log_path: Path,
    gpus: list[int] | None,
    python: str | None = None,
    view: sandbox.View | None = None,
    max_log_mb: int = 100,
    malloc_tuning: bool = False,
) -> tuple[subprocess.Popen[bytes], int, int, LogPump]:
    """Start `python -m worker.runtime.child JOB` (inside VIEW's sandbox when given); returns the process, the
    events pipe, the replies pipe and the pump that copies its output into LOG_PATH (capped at MAX_LOG_MB).
    MALLOC_TUNING: child_env's."""
    events_r, events_w = os.pipe()
    replies_r, replies_w = os.pipe()
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The package may be run from a source checkout: tell the child where it lives, nothing else.
    src_root = str(Path(__file__).resolve().parents[1])
    env = child_env(scratch, gpus, malloc_tuning)
    env["PYTHONPATH"] = src_root
    argv = [
        python or sys.executable,
        "-m",
        "worker.runtime.child",
        str(job_path),
        "--events-fd",
        str(events_w),
        "--replies-fd",
        str(replies_r),
    ]
    output_r, output_w = os.pipe()
    fds = [events_w, replies_r]
    if view is not None:
        argv, filter_fd = sandbox.command(view, argv)
        fds.append(filter_fd)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output_w,
            stderr=subprocess.STDOUT,
            pass_fds=fds,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        for fd in (events_r, replies_w, output_r):
            os.close(fd)
        raise
    finally:
        for fd in (*fds, output_w):
            os.close(fd)
    pump = LogPump(output_r, log_path, max_log_mb << 20).start()
    return proc, events_r, replies_w, pump


# Linux lists each thread's children in /proc (CONFIG_PROC_CHILDREN, on in common kernels).
_CHILDREN_FILES = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def descendants(pid: int) -> list[int]:
    """PID and its descendants, from the children files (no scan of the whole process table as psutil does)."""
    if not _CHILDREN_FILES:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue  # it ended meanwhile
    return found


def group_usage(pid: int) -> tuple[int, int]:
    """(How many processes, their memory) of PID and its descendants: resident memory of their own (anonymous and
    shared-memory pages), not the pages of files they map, which the kernel can drop at any time (a streamed
    training maps its inputs' files, docs/decisions.md)."""
    try:
        procs = descendants(pid)
    except psutil.Error:
        return 0, 0
    total = 0
    for child in procs:
        try:
            total += owned_memory(child)
        except (OSError, ValueError, psutil.Error):
            pass  # it ended meanwhile
    return len(procs), total


def owned_memory(pid: int) -> int:
    """PID's resident anonymous and shared-memory bytes (RssAnon + RssShmem of /proc/PID/status)."""
    total = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("RssAnon:", "RssShmem:")):
                total += int(line.split()[1]) << 10  # kB
    return total


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def training_pid(proc: subprocess.Popen[bytes], sandboxed: bool) -> int | None:
    """The host pid of the training itself: PROC, or inside the sandbox pid 2 of its PID namespace (pid 1 is
    bubblewrap's init)."""
    if not sandboxed:
        return proc.pid
    for pid in descendants(proc.pid):
        try:
            with open(f"/proc/{pid}/status") as fh:
                nspids = next((line.split()[1:] for line in fh if line.startswith("NSpid:")), [])
        except OSError:
            continue
        if len(nspids) >= 2 and nspids[-1] == "2":
            return pid
    return None


def signal_pid(pid: int, sig: int) -> None:
    """Send SIG to one process (not its group)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
