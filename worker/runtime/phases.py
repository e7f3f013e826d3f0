"""The training's phases: each one announced to the worker (the page shows it live) and logged with its time."""

from __future__ import annotations

import time

from core.protocol import PHASES, phase_event
from fitstudio.deep_learning import _context
from worker.runtime.errors import say


class _Current:
    """The phase in progress: its name, when it began (monotonic) and what its log line adds."""

    name: str | None = None
    since: float = 0.0
    detail: str = ""


_current = _Current()


def enter(phase: str) -> None:
    """End the phase in progress (its log line, with its time) and announce PHASE to the worker."""
    close()
    _current.name, _current.since, _current.detail = phase, time.monotonic(), ""
    channel = _context.channel
    if channel is not None:  # None outside a worker's child (a runtime used in-process by tests)
        channel.send(phase_event(phase))


def note(detail: str) -> None:
    """What the phase in progress did, in words ('12,000 rows'), for its log line."""
    _current.detail = detail


def close() -> None:
    """Log the phase in progress as '[fitstudio] loading data: 12,000 rows (0.4 s)'; nothing when none is."""
    if _current.name is None:
        return
    words = PHASES[_current.name]
    detail = f": {_current.detail}" if _current.detail else ""
    say(f"{words}{detail} ({time.monotonic() - _current.since:.1f} s)")
    _current.name = None
