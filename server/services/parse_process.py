"""Uploads parsed in processes of their own, not in the API's.

An upload's parse (type inference, the streamed CSV read and Parquet write, the statistics pass) is CPU work in
Python and Arrow. In the API's process its threads took the GIL from the event loop: with back-to-back uploads of a
145 MiB CSV, half of the API's busy samples were the parse and `GET /sessions/{id}`'s p99 went from 23 to 118-536
ms (docs/benchmarks.md, "GET /sessions/{id} with page views and uploads going on"). Here the parse runs in a small
pool of processes, and the API only waits for its result. Where the cpu cgroups can be used, each parse process
joins fitstudio/uploads, an 8th of the service's cpu weight and 64 times a training's, so back-to-back uploads do
not keep requests waiting (docs/benchmarks.md, "Uploads below the requests"; at niceness +5, before the trainings
had cgroups, the uploads took 10 % longer with no measurable gain for the API).

Each parse gets a fresh process of its own, forked from a server process that has imported the parse's modules once
(multiprocessing's forkserver, started with the API): a fork costs about 15 ms where a spawned interpreter took
about 2 s to import them, and whatever a parse allocated is given back when its process ends. Not a
ProcessPoolExecutor: one of its processes dying breaks the whole pool, failing the other parses of the moment, and
in Python 3.11 an upload submitted while the pool broke could leave a process that the pool's manager thread then
waited for forever, so the API's process never exited (docs/decisions.md, "Uploads parsed in processes of their
own").
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from core.cpu_cgroups import join_uploads_if_in_service
from server.errors import ApiError, invalid
from server.settings import Settings

# How a process dies when the file crashes its reader (Rust's and C's abort, a bad memory access); SIGKILL is the
# kernel's out-of-memory killer, or a person.
CRASHES = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
PROCESSES = 2  # parses at once; more uploads wait their turn (each parse holds FITSTUDIO_UPLOAD_MEMORY_MB)
# What the fork server imports once for every parse (duckdb, the CSV sniffer, is imported by csv_source on first use:
# 0.03 s of each parse otherwise).
PRELOADED = ["__main__", "server.services.datasets", "duckdb"]

T = TypeVar("T")
_turns = threading.BoundedSemaphore(PROCESSES)


def run(settings: Settings, fn: Callable[..., T], *args: object) -> T:
    """FN(*ARGS) in a parse process (its exceptions re-raised here), or in this thread when
    FITSTUDIO_UPLOAD_PARSE_PROCESS is off; 422 damaged_file when the file crashed its process (a native reader's
    abort or segmentation fault), 503 upload_parse_failed when the process died otherwise (out of memory, killed)."""
    if not settings.upload_parse_process:
        return fn(*args)
    with _turns:
        answer, exit_code = _in_a_process(fn, args)
    if answer is None:
        raise _died(exit_code)
    ok, value = answer
    if not ok:
        raise value
    return value


def _in_a_process(fn: Callable[..., Any], args: tuple[object, ...]) -> tuple[tuple[bool, Any] | None, int | None]:
    """(ok, FN's value or exception) from a fresh parse process, or None when it died first; and its exit code."""
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    # A daemon: the API's exit ends a parse still running instead of waiting for it.
    process = context.Process(target=_parse, args=(writer, fn, args), name="fitstudio-parse", daemon=True)
    try:
        try:
            process.start()
        finally:
            writer.close()  # the child's copy is its own: its end, clean or not, is the end of the pipe here
        answer = reader.recv()  # before the join: a large answer fills the pipe until it is read
    except EOFError:
        answer = None
    finally:
        reader.close()
    process.join()
    return answer, process.exitcode


def _parse(writer: Connection, fn: Callable[..., Any], args: tuple[object, ...]) -> None:
    """In the parse process: FN(*ARGS) sent back through WRITER as (True, value), or (False, the exception)."""
    join_uploads_if_in_service()
    try:
        answer: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:  # re-raised in the API's process, as the request's error (as pools did)
        exc.add_note("in the upload's parse process:\n" + "".join(traceback.format_exception(exc)))
        answer = (False, exc)
    try:
        writer.send(answer)
    except Exception as exc:  # an answer that cannot be pickled: say so rather than die
        writer.send((False, RuntimeError(f"the parse's answer could not be sent back: {exc!r}")))


def _died(exit_code: int | None) -> ApiError:
    """The error for a parse process that ended without an answer, EXIT_CODE telling how."""
    if exit_code is not None and -exit_code in CRASHES:
        return invalid(
            f"Reading the file crashed its reader ({signal.Signals(-exit_code).name}): the file is damaged, or "
            "written in a way the reader cannot handle; nothing was stored. Save it again with its program, or as "
            "CSV, and upload that.",
            code="damaged_file",
        )
    return ApiError(
        503,
        "upload_parse_failed",
        "The process parsing the upload stopped before it finished (out of memory, or killed); nothing was stored. "
        "Retry, or upload a smaller file.",
    )


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
