"""The sandbox's /tmp is the training's own TMPDIR, a folder of its scratch folder on disk: code as published writes
there (keras.io's `BackupAndRestore(backup_dir="/tmp/backup")`), what it writes lands in the scratch folder, and
nothing of the host's /tmp shows (docs/security.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from worker import sandbox

PROBE = """
import json, os
os.makedirs("/tmp/backup", exist_ok=True)
open("/tmp/backup/chkpt-MARK", "w").write("weights")
print(json.dumps(sorted(os.listdir("/tmp"))))
"""


@pytest.mark.skipif(os.getuid() != 0, reason="a root worker's mode needs root")
def test_tmp_is_the_scratch_folders_own(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex[:8]
    host_file = Path("/tmp") / f"host-only-{mark}"
    host_file.write_text("the host's")
    scratch = tmp_path / "scratch"
    (scratch / "tmp").mkdir(parents=True)
    uid = sandbox.sandbox_uid(200_000, f"tmp-{mark}")
    sandbox.hand_over([scratch], uid)
    view = sandbox.View(
        read_only=[*sandbox.python_roots(), *sandbox.source_roots()],
        writable=[str(scratch)],
        cwd=str(scratch),
        uid=uid,
        tmp=str(scratch / "tmp"),
    )
    argv, fd = sandbox.command(view, [sys.executable, "-c", PROBE.replace("MARK", mark)], root=True)
    try:
        done = subprocess.run(argv, pass_fds=(fd,), capture_output=True, text=True, timeout=60)
    finally:
        os.close(fd)
        host_file.unlink()
    assert done.returncode == 0, done.stderr
    assert (scratch / "tmp" / "backup" / f"chkpt-{mark}").read_text() == "weights"  # on disk, in the scratch folder
    assert not Path(f"/tmp/backup/chkpt-{mark}").exists()
    # the sandbox's /tmp: what the code wrote, and the first folder of each bound path under /tmp (mount points)
    bound = [Path(p).resolve() for p in [*view.read_only, *view.writable]]
    under_tmp = {p.relative_to("/tmp").parts[0] for p in bound if p.is_relative_to("/tmp")}
    assert set(json.loads(done.stdout)) == {"backup"} | under_tmp and host_file.name not in done.stdout
