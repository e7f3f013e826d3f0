"""Flags the worker sets on the child through signals (SIGUSR1 = interrupt after the current batch)."""

from __future__ import annotations

import signal
import threading

interrupt_requested = threading.Event()
drain_requested = threading.Event()  # SIGUSR2: the worker is stopping; checkpoint and hand the session back
DRAINED_EXIT_CODE = 75


def install() -> None:
    """Route SIGUSR1 to the interrupt flag and SIGUSR2 to the drain flag."""
    signal.signal(signal.SIGUSR1, lambda *_: interrupt_requested.set())
    signal.signal(signal.SIGUSR2, lambda *_: drain_requested.set())


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL us when the worker thread that started us dies (Linux)."""
    import ctypes
    import os

    parent = os.getppid()  # in the sandbox this is bubblewrap's init, pid 1 of the training's PID namespace
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before we could ask
        os._exit(1)
