"""The sandbox's two identities: a root worker's child drops to an unprivileged uid (setpriv); a worker that is not
root gets a user namespace without capabilities, in which no further user namespace can be made. Both with the
seccomp filter. The second runs bubblewrap as `nobody` with Debian's /usr/bin/python3 (readable by anyone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import sandbox

PROBE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
newuser = libc.unshare(0x10000000)
print(os.getuid(), os.getpid(), status["CapEff"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip(),
      "unshare-refused" if newuser != 0 else "unshare-ALLOWED")
"""

NOBODY = 65534


def _run(view: sandbox.View, python: str, root: bool, as_user: int | None = None) -> list[str]:
    argv, fd = sandbox.command(view, [python, "-c", PROBE], root=root)
    try:
        done = subprocess.run(
            argv,
            pass_fds=(fd,),
            capture_output=True,
            text=True,
            timeout=60,
            user=as_user,
            group=as_user,
            extra_groups=[] if as_user is not None else None,
        )
    finally:
        os.close(fd)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(os.getuid() != 0, reason="a root worker's mode needs root")
def test_root_worker_runs_user_code_as_an_unprivileged_uid(tmp_path: Path) -> None:
    view = sandbox.View(
        read_only=[*sandbox.python_roots(), *sandbox.source_roots()],
        writable=[],
        cwd="/",
        uid=sandbox.sandbox_uid(200_000, "modes"),
    )
    uid, pid, caps, nnp, seccomp, unshare = _run(view, sys.executable, root=True)
    assert int(uid) == view.uid and int(uid) != 0
    assert (pid, caps, nnp, seccomp, unshare) == ("2", "0000000000000000", "1", "2", "unshare-refused")


@pytest.mark.skipif(os.getuid() != 0 or not Path("/usr/bin/python3").exists(), reason="needs root to become nobody")
def test_unprivileged_worker_gets_a_user_namespace_without_capabilities() -> None:
    view = sandbox.View(read_only=[], writable=[], cwd="/")  # /usr (with /usr/bin/python3) is always bound
    uid, pid, caps, nnp, seccomp, unshare = _run(view, "/usr/bin/python3", root=False, as_user=NOBODY)
    assert int(uid) == NOBODY
    assert (pid, caps, nnp, seccomp, unshare) == ("2", "0000000000000000", "1", "2", "unshare-refused")
