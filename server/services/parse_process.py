"""Uploads parsed in processes of their own, not in the API's.

An upload's parse (type inference, the streamed CSV read and Parquet write, the statistics pass) is CPU work in
Python and Arrow. In the API's process its threads took the GIL from the event loop: with back-to-back uploads of a
145 MiB CSV, half of the API's busy samples were the parse and `GET /sessions/{id}`'s p99 went from 23 to 118-536
ms (docs/benchmarks.md, "GET /sessions/{id} with page views and uploads going on"). Here the parse runs in a small
pool of processes, and the API only waits for its result. Where the cpu cgroups can be used, each parse process
joins fitstudio/uploads, an 8th of the service's cpu weight and 64 times a training's, so back-to-back uploads do
not keep requests waiting (docs/benchmarks.md, "Uploads below the requests"; at niceness +5, before the trainings
had cgroups, the uploads took 10 % longer with no measurable gain for the API).

Each parse gets a fresh process, forked from a server process that has imported the parse's modules once
(multiprocessing's forkserver, started with the API): a fork costs about 15 ms where a spawned interpreter took
about 2 s to import them, and whatever a parse allocated is given back when its process ends.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from core.cpu_cgroups import join_uploads_if_in_service
from server.errors import ApiError, invalid
from server.settings import Settings

# How a process dies when the file crashes its reader (Rust's and C's abort, a bad memory access); SIGKILL is the
# kernel's out-of-memory killer, or a person.
CRASHES = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
REAP_SECONDS = 2.0
PROCESSES = 2  # parses at once; more uploads wait their turn (each parse holds FITSTUDIO_UPLOAD_MEMORY_MB)
# What the fork server imports once for every parse (duckdb, the CSV sniffer, is imported by csv_source on first use:
# 0.03 s of each parse otherwise).
PRELOADED = ["__main__", "server.services.datasets", "duckdb"]

T = TypeVar("T")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def run(settings: Settings, fn: Callable[..., T], *args: object) -> T:
    """FN(*ARGS) in a parse process (its exceptions re-raised here), or in this thread when
    FITSTUDIO_UPLOAD_PARSE_PROCESS is off; 422 damaged_file when the file crashed its process (a native reader's
    abort or segmentation fault), 503 upload_parse_failed when the process died otherwise (out of memory, killed)."""
    if not settings.upload_parse_process:
        return fn(*args)
    pool = _executor()
    with tempfile.NamedTemporaryFile(prefix="fitstudio-parse-", suffix=".pid") as marker:
        try:
            return pool.submit(_marked, marker.name, fn, *args).result()
        except BrokenProcessPool:
            crash = _crash_signal(pool, Path(marker.name))  # before the pool is shut down: it forgets its processes
            _discard(pool)
    if crash is not None:
        raise invalid(
            f"Reading the file crashed its reader ({crash}): the file is damaged, or written in a way the reader "
            "cannot handle; nothing was stored. Save it again with its program, or as CSV, and upload that.",
            code="damaged_file",
        )
    raise ApiError(
        503,
        "upload_parse_failed",
        "The process parsing the upload stopped before it finished (out of memory, or killed); nothing was stored. "
        "Retry, or upload a smaller file.",
    )


def _marked(marker: str, fn: Callable[..., T], *args: object) -> T:
    """FN(*ARGS) in a parse process, which first writes its pid to the file MARKER: if it dies, the caller can tell
    its own process among the pool's, and how it died."""
    Path(marker).write_text(str(os.getpid()))
    return fn(*args)


def _crash_signal(pool: ProcessPoolExecutor, marker: Path) -> str | None:
    """The signal's name when the parse process whose pid MARKER holds crashed (a native reader aborting, or its
    segmentation fault: the file's doing); None when it was killed (out of memory) or cannot be told."""
    try:
        pid = int(marker.read_text())
        # the executor keeps its processes once broken (CPython's ProcessPoolExecutor._processes); the pool can break
        # before the dead one is reaped, so its exit code is waited for
        process = pool._processes[pid]  # type: ignore[attr-defined]
        process.join(REAP_SECONDS)
        code = process.exitcode
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None
    return signal.Signals(-code).name if code is not None and -code in CRASHES else None


def start(settings: Settings) -> None:
    """Start the fork server (it imports PRELOADED in the background) unless uploads are parsed in the API's
    process: the first upload then waits only for its fork."""
    if settings.upload_parse_process:
        _context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the API's process has threads (the event loop's, the reconciler's, SQL pools); not spawn: 2 s of
    # imports for each parse.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                PROCESSES, mp_context=_context(), initializer=join_uploads_if_in_service, max_tasks_per_child=1
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    """Drop a broken POOL: the next upload starts a new one."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
