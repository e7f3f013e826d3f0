"""The training child contains itself before any user code runs (Linux namespaces, no root needed).

A new user namespace (so RLIMIT_NPROC binds even a root worker's children), a private mount namespace
in which every mount is read-only except the given writable folders and the service's secret files are
masked, and — unless the network is allowed — an empty network namespace (no database, broker or
internet). It must run while the process has a single thread: before numpy or TensorFlow are imported.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
_OPTION_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
_KEEP_WRITABLE = ("/proc", "/sys", "/dev")

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(OSError):
    """A containment step failed (the kernel lacks user namespaces, …)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _mounts() -> list[tuple[str, int]]:
    """(mount point, locked per-mount flags) of every mount, parents first."""
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            flags = 0
            for opt in fields[5].split(","):
                flags |= _OPTION_FLAGS.get(opt, 0)
            out.append((point, flags))
    return out


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def contain(
    writable: list[str],
    hidden_files: list[str],
    hidden_dirs: list[str],
    network: bool,
    hide_siblings_of: str | None = None,
) -> list[str]:
    """Enter the namespaces and lock the filesystem down; returns what was done, for the log."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | (0 if network else CLONE_NEWNET)
    _check(_libc.unshare(flags), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    done = ["user namespace", "mount namespace"] + ([] if network else ["no network"])
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    writable = [str(Path(p).resolve()) for p in writable if Path(p).exists()]
    for path in writable:
        _mount(path, path, None, MS_BIND | MS_REC)
    for point, locked in _mounts():
        if _under(point, _KEEP_WRITABLE) or _under(point, writable):
            continue
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | locked)
        except SandboxError:
            continue  # a mount we may not touch stays as it is; the writable ones matter most
    done.append(f"read-only filesystem except {len(writable)} working folder(s)")
    if Path("/dev/shm").is_dir():  # shared memory stays usable (multiprocessing, TensorFlow) but private
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
        done.append("private /dev/shm")
    for path in hidden_files:
        if Path(path).exists():
            _mount("/dev/null", path, None, MS_BIND)
            done.append("masked a service file")
    if hide_siblings_of:
        own = Path(hide_siblings_of).resolve()
        hidden_dirs = [*hidden_dirs, *(str(p) for p in own.parent.iterdir() if p.is_dir() and p != own)]
    for path in hidden_dirs:
        if Path(path).is_dir():
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
            done.append("masked a service folder")
    return done
