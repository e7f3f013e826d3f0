"""Resource limits the training child sets on itself before any user code runs (no preexec_fn needed), and the
memory it gives back while it prepares its data."""

from __future__ import annotations

import ctypes
import os
import resource

from core.contracts import Limits


def _lower(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else min(value, hard)))


def apply(limits: Limits) -> None:
    """Open files, processes, file size, CPU time and niceness (memory is watched by the worker, not RLIMIT_AS)."""
    _lower(resource.RLIMIT_NOFILE, int(limits.max_open_files or 4096))
    _lower(resource.RLIMIT_NPROC, int(limits.max_processes or 4096))
    _lower(resource.RLIMIT_FSIZE, int(limits.max_file_mb or 16384) << 20)
    cpu = int(limits.cpu_time_s or 0)
    if cpu <= 0:
        # All threads count towards CPU time: allow the wall-clock limit on every core, plus a margin.
        cpu = int(limits.time_limit_s or 86400) * (os.cpu_count() or 1) + 60
    _lower(resource.RLIMIT_CPU, cpu)
    # Nice 5 by default: at 0 two trainings starve the API, at 19 a training starves on a host busy with other
    # work (issue 23, bench/nice_sweep.py). Operators choose with FITSTUDIO_TRAINING_NICE. Set before TensorFlow
    # starts its thread pools, which inherit it; raising it back would need privileges user code lacks.
    lower_priority(int(limits.nice or 0))


def lower_priority(nice: int) -> None:
    """Raise this process's niceness by NICE and its autogroup's to match (nothing when NICE is not positive)."""
    if nice > 0:
        os.nice(nice)
        _autogroup_nice(nice)


def _autogroup_nice(nice: int) -> None:
    """With autogroup scheduling (most desktop and many server kernels) the child, a session leader, is its own
    group and a thread's niceness only ranks it inside that group: lower the group's share too."""
    try:
        with open("/proc/self/autogroup", "w") as fh:
            fh.write(str(nice))
    except OSError:  # no autogroup support, or not allowed: the thread niceness above still applies
        pass


def give_back_free_memory() -> None:
    """Return the heaps' free memory to the system, after a step of the data's preparation that freed much of it.

    Reading, splitting and fitting leave hundreds of megabytes freed but still owned: glibc keeps freed chunks in
    its heaps and pyarrow in its pool, and the memory limit counts them for the whole training (a 300,000-row
    preparation: 245 MiB owned afterwards, 28 MiB once given back; bench/streamed_memory.py)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        pass
