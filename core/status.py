"""A training session's status: queued → running → succeeded | failed | aborted (running → queued on hand-back)."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    """The states a training session moves through; the values are what the API and SQL hold."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def is_terminal(self) -> bool:
        """True once the session has ended: nothing changes its status any more."""
        return self in TERMINAL


TERMINAL = frozenset({SessionStatus.SUCCEEDED, SessionStatus.FAILED, SessionStatus.ABORTED})
