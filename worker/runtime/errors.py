"""How a training stops early without a bug in user code, and the child's own lines in the session log."""

from __future__ import annotations


class Drained(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The worker is stopping: the session was checkpointed (when it can be) and goes back to the queue."""


class TrainingError(RuntimeError):
    """The training cannot go on, for a reason stated in the message (not a bug in user code)."""


def say(message: str) -> None:
    """A line of the runtime's own in the session's log (user code prints without the prefix)."""
    print(f"[fitstudio] {message}", flush=True)
