"""Resource limits the training child sets on itself before any user code runs (no preexec_fn needed)."""

from __future__ import annotations

import os
import resource
from typing import Any


def _lower(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else min(value, hard)))


def apply(limits: dict[str, Any]) -> None:
    """Open files, processes, file size and CPU time (memory is watched by the worker, not RLIMIT_AS)."""
    _lower(resource.RLIMIT_NOFILE, int(limits.get("max_open_files") or 4096))
    _lower(resource.RLIMIT_NPROC, int(limits.get("max_processes") or 4096))
    _lower(resource.RLIMIT_FSIZE, int(limits.get("max_file_mb") or 16384) << 20)
    cpu = int(limits.get("cpu_time_s") or 0)
    if cpu <= 0:
        # All threads count towards CPU time: allow the wall-clock limit on every core, plus a margin.
        cpu = int(limits.get("time_limit_s") or 86400) * (os.cpu_count() or 1) + 60
    _lower(resource.RLIMIT_CPU, cpu)
