"""A pytest process that cannot hang once its summary is printed (a plugin tests/conftest.py loads).

After the summary, Python's exit still joins every non-daemon thread, every executor's threads (a
ThreadPoolExecutor's workers, a ProcessPoolExecutor's manager) and every multiprocessing child. One of them stuck
kept CI's `services` stream alive for 30 minutes after "2701 passed" (an upload parse pool's manager thread, joining
a process it had never stopped). So at pytest_unconfigure this plugin says which threads and children the exit
waits for, and a daemon thread started once the session has finished gives the rest EXIT_GRACE_S: past that it
writes a line starting with EXIT_HUNG (scripts/streams.sh puts it in its summary) and every thread's stack to
stderr, and ends the process with pytest's own exit status.
"""

from __future__ import annotations

import concurrent.futures.process
import concurrent.futures.thread
import multiprocessing
import os
import sys
import threading
import time
import traceback

import pytest

EXIT_GRACE_S = float(os.environ.get("FITSTUDIO_TEST_EXIT_GRACE_S", "60"))
EXIT_WAITS = "pytest's exit waits for"
EXIT_HUNG = "pytest's process hung at exit"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every test and fixture has ended: end the process should its exit take over EXIT_GRACE_S from here."""
    threading.Thread(target=_end_after, args=(EXIT_GRACE_S, int(exitstatus)), name="exit-guard", daemon=True).start()


def _waited_for() -> str | None:
    """What Python's exit will join: non-daemon threads and multiprocessing's children, named; None when nothing."""
    # the executors' threads are daemons that their own atexit hooks join
    pooled = [*concurrent.futures.thread._threads_queues, *concurrent.futures.process._threads_wakeups]
    joined = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    threads = [t.name for t in dict.fromkeys([*joined, *pooled]) if t.is_alive()]
    children = [f"{p.name} (pid {p.pid})" for p in multiprocessing.active_children()]
    if not threads and not children:
        return None
    return f"{len(threads)} thread(s) {threads} and {len(children)} child process(es) {children}"


def _end_after(grace_s: float, status: int) -> None:
    time.sleep(grace_s)
    stderr = sys.__stderr__
    if stderr is None:  # pragma: no cover - pytest always has one
        os._exit(status)
    stderr.write(f"\n{EXIT_HUNG}: still exiting {grace_s:g} s after its summary; waiting for {_waited_for()}\n")
    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread.ident in frames and thread is not threading.current_thread():
            stack = "".join(traceback.format_stack(frames[thread.ident]))
            stderr.write(f"--- thread {thread.name!r} (daemon: {thread.daemon}):\n{stack}")
    stderr.flush()
    if sys.__stdout__ is not None:
        sys.__stdout__.flush()  # os._exit flushes nothing
    os._exit(status)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Name what the exit will wait for (the last hook before it)."""
    waited = _waited_for()
    if waited and sys.__stderr__ is not None:
        sys.__stderr__.write(f"{EXIT_WAITS} {waited}\n")
        sys.__stderr__.flush()
