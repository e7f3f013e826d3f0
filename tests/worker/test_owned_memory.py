"""The memory limit's fallback poll (no memory cgroup) counts what a training owns, not the files it maps: a
streamed training reads its inputs through memory maps whose pages the kernel can drop (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from worker import child_process

MIB = 1 << 20
HOLDER = """
import sys, numpy as np
mapped = np.load(sys.argv[1], mmap_mode="r")
touched = int(mapped[::512].sum())  # every page of the file read: resident, but the file's
owned = np.ones(int(sys.argv[2]) << 20, dtype=np.uint8)  # memory of its own
print("ready", flush=True)
sys.stdin.read()
"""


def _usage_of_holder(tmp_path: Path, mapped_mb: int, owned_mb: int) -> tuple[int, int]:
    """(resident set, owned memory) of a process that maps MAPPED_MB of a file and allocates OWNED_MB."""
    import numpy as np

    path = tmp_path / "inputs.npy"
    np.save(path, np.ones(mapped_mb * MIB, dtype=np.uint8))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(owned_mb)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        return psutil.Process(proc.pid).memory_info().rss, child_process.group_usage(proc.pid)[1]
    finally:
        proc.kill()
        proc.wait()


def test_mapped_file_pages_are_not_counted_but_owned_memory_is(tmp_path: Path) -> None:
    rss, owned = _usage_of_holder(tmp_path, mapped_mb=300, owned_mb=100)
    assert rss > 380 * MIB  # the resident set holds the mapped file too
    assert 100 * MIB < owned < 250 * MIB  # the 100 MiB allocated and the interpreter with NumPy, not the file
