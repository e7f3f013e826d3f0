"""Flags the worker sets on the child through signals (SIGUSR1 = interrupt after the current batch)."""

from __future__ import annotations

import signal
import threading

interrupt_requested = threading.Event()


def install() -> None:
    """Route SIGUSR1 to the interrupt flag."""
    signal.signal(signal.SIGUSR1, lambda *_: interrupt_requested.set())
