"""The training sandbox: bubblewrap namespaces, an unprivileged uid, a seccomp filter, a minimal filesystem view.

User code runs in a process that bubblewrap (`bwrap`) starts in new PID, mount, IPC, UTS, cgroup and (unless the
network is allowed) network namespaces. Its filesystem is an empty root with only what a training needs bound in:
the system's /usr, a few files of /etc, the Python environment and fitstudio's packages read-only; the dataset
files read-only; its scratch folder and checkpoint folder read-write. A root worker drops to an unprivileged uid
(`setpriv`) with no capabilities; any worker's child has no_new_privs and the seccomp filter of `worker.seccomp`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from worker import seccomp

log = logging.getLogger(__name__)

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs and libraries read in /etc; nothing else of it (no shadow, no service configuration).
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "fonts",
    "gai.conf",
    "group",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "passwd",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
PACKAGES = ("core", "fitstudio", "worker")  # what the child imports from a source checkout (never server)
UID_SPAN = 50_000  # root workers run each training as uid base + (crc32(scratch name) mod span)
PROBE_TIMEOUT_S = 30
NO_CAPS = "CapEff:\t0000000000000000"


@dataclass(frozen=True)
class Isolation:
    """Whether this worker can isolate user code, in words for the workers page and the log."""

    available: bool
    summary: str


@dataclass
class View:
    """What one training's sandbox shows and who runs in it."""

    read_only: list[str]
    writable: list[str]
    cwd: str
    uid: int | None = None  # the host uid of user code when the worker is root; None: the worker's own uid
    network: bool = False
    devices: list[str] = field(default_factory=list)
    shm_bytes: int = 1 << 30
    # The host folder shown as /tmp (the training's TMPDIR, in its scratch folder): code as published writes there
    # (keras.io's `BackupAndRestore(backup_dir="/tmp/backup")`, ModelCheckpoint's "/tmp/ckpt/…"). None: no /tmp.
    tmp: str | None = None


def sandbox_uid(base: int, name: str) -> int | None:
    """The unprivileged host uid for the training whose scratch folder is NAME (None unless we are root)."""
    if os.getuid() != 0:
        return None
    return base + zlib.crc32(name.encode()) % UID_SPAN


def python_roots(python: str | None = None) -> list[str]:
    """Folders of the Python environment the child runs in: the venv and the installation it points at."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    if python:
        exe = Path(python)
        roots |= {str(exe.parent.parent), str(exe.resolve().parent.parent)}
    return sorted(r for r in roots if r and Path(r).is_dir())


def source_roots() -> list[str]:
    """fitstudio's own packages where they are imported from (a source checkout or site-packages)."""
    top = Path(__file__).resolve().parents[1]
    return [str(top / name) for name in PACKAGES if (top / name).is_dir()]


def gpu_devices() -> list[str]:
    """NVIDIA device files to pass into a GPU training."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


def _system_args() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    for name in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _bind_args(view: View) -> list[str]:
    """Binds of the view, parents first; every folder bwrap must create on the way is 0755 (its default is 0700)."""
    binds = [(p, "--ro-bind") for p in view.read_only] + [(p, "--bind") for p in view.writable]
    binds += [(p, "--dev-bind") for p in view.devices]
    binds = [(str(Path(p)), kind) for p, kind in binds if Path(p).exists()]
    binds.sort(key=lambda b: (len(Path(b[0]).parts), b[0]))
    made: set[str] = {"/", "/etc", "/dev", "/proc", *SYSTEM_DIRS}
    bound: list[str] = []
    args: list[str] = []
    if view.tmp and Path(view.tmp).is_dir():
        # First, and not counted as bound: folders of binds under /tmp are made in it, 0755 (not bwrap's 0700).
        args += ["--bind", str(Path(view.tmp)), "/tmp"]
        made.add("/tmp")
    for path, kind in binds:
        for parent in reversed(Path(path).parents):
            name = str(parent)
            if name in made or any(name == b or name.startswith(b + "/") for b in bound):
                continue
            made.add(name)
            args += ["--perms", "0755", "--dir", name]
        args += [kind, path, path]
        bound.append(path)
    return args


def _identity_args(view: View, root: bool) -> tuple[list[str], list[str]]:
    """(bwrap options, the command prefix inside) that make user code an unprivileged user without capabilities."""
    if root:
        uid = view.uid if view.uid is not None else 65534
        inner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
        return [], [*inner, "--bounding-set=-all", "--no-new-privs", "--"]
    return ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"], []


def command(view: View, argv: list[str], root: bool | None = None) -> tuple[list[str], int]:
    """The bwrap command line that runs ARGV in VIEW, and the seccomp filter's fd to pass to it (close it after).

    ROOT: whether bwrap will run as root (default: whether we are root now)."""
    filter_fd = seccomp.filter_fd()
    outer, inner = _identity_args(view, os.getuid() == 0 if root is None else root)
    args = [
        "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "fitstudio-training",
        *outer,
        *([] if view.network else ["--unshare-net"]),
        *_system_args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(view.shm_bytes),
        "--tmpfs",
        "/dev/shm",
        "--ro-bind-try",
        "/sys",
        "/sys",
        *_bind_args(view),
        "--chdir",
        view.cwd,
        "--seccomp",
        str(filter_fd),
        "--",
        *inner,
        *argv,
    ]
    return args, filter_fd


def describe(view: View) -> str:
    """One line for the session log: what holds user code."""
    who = f"uid {view.uid}" if view.uid is not None else f"uid {os.getuid()} in a user namespace"
    parts = [
        "bubblewrap sandbox",
        "own PID namespace",
        "no network" if not view.network else "network allowed",
        f"{len(view.writable)} writable folder(s)",
        f"{who} without capabilities",
        "seccomp filter",
    ]
    return "; ".join(parts)


def _missing_tools() -> list[str]:
    tools = ["bwrap"] + (["setpriv"] if os.getuid() == 0 else [])
    return [t for t in tools if shutil.which(t) is None]


def _probe_view(uid_base: int) -> View:
    return View(
        read_only=[*python_roots(), *source_roots()],
        writable=[],
        cwd="/",
        uid=sandbox_uid(uid_base, "probe"),
    )


@lru_cache(maxsize=4)
def isolation(enabled: bool = True, uid_base: int = 200_000) -> Isolation:
    """Probe (once per process) whether bubblewrap can run a sandboxed Python here, and say what it gives."""
    if not enabled:
        return Isolation(False, "sandbox disabled by the operator (FITSTUDIO_TRAINING_SANDBOX=false)")
    missing = _missing_tools()
    if missing:
        tools = ", ".join(missing)
        return Isolation(False, f"cannot isolate user code: {tools} not found (apt-get install bubblewrap)")
    try:
        seccomp.compiled()
    except (ImportError, OSError, RuntimeError) as exc:
        return Isolation(False, f"cannot isolate user code: no seccomp filter ({type(exc).__name__}: {exc})")
    view = _probe_view(uid_base)
    status = "open('/proc/self/status').read()"
    script = f"import os; print(os.getuid(), os.getpid(), {status}.count({NO_CAPS!r}))"
    argv, fd = command(view, [sys.executable, "-c", script])
    try:
        done = subprocess.run(argv, pass_fds=(fd,), capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(False, f"cannot isolate user code: bwrap did not run ({exc})")
    finally:
        os.close(fd)
    expected = f"{view.uid if view.uid is not None else os.getuid()} 2 1"
    if done.returncode != 0 or done.stdout.strip() != expected:
        reason = (done.stderr.strip() or done.stdout.strip())[-300:]
        return Isolation(False, f"cannot isolate user code: the bubblewrap probe failed ({reason})")
    version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    who = f"uids {uid_base}-{uid_base + UID_SPAN - 1}" if view.uid is not None else "the worker's uid, user namespace"
    return Isolation(
        True, f"{version}: own PID, mount, IPC and network namespaces; {who}, no capabilities; seccomp filter"
    )


def hand_over(paths: Iterable[Path], uid: int | None) -> None:
    """Give the sandbox's uid the folders it writes (the worker, root, keeps every right over them)."""
    if uid is None:
        return
    for top in paths:
        if not top.exists():
            continue
        # Never through a link: a training may have left one (in its checkpoint folder) pointing at a host file.
        for folder, dirs, files in os.walk(top):
            os.chown(folder, uid, uid, follow_symlinks=False)
            for name in files + dirs:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
