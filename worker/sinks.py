"""Where a training child's progress goes: a session's row (written only while its lease is held), or nowhere."""

from __future__ import annotations

from typing import Any

from worker import state

PROGRESS_KEYS = ("epoch", "epochs", "batch", "batches")


class Sink:
    """Where a child's progress goes; the base class drops it (dry runs)."""

    label: str = "dry run"
    start: dict[str, Any] = {}  # the stored progress a run starts from (the phases' writes keep its epochs)

    def progress(self, progress: dict[str, Any]) -> bool:
        """Store batch progress; False when the work is no longer ours."""
        return True

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        """Store one epoch; False when the work is no longer ours."""
        return True

    def cancel_request(self) -> str | None:
        """'interrupt', 'abort' or None."""
        return None


class SessionSink(Sink):
    """A training session's row, written only while we hold its lease."""

    def __init__(self, session_id: int, lease: int, progress: dict[str, Any] | None = None):
        self.session_id = session_id
        self.lease = lease
        self.start = {k: v for k, v in (progress or {}).items() if k in PROGRESS_KEYS}
        self.label = f"session {session_id}"

    def progress(self, progress: dict[str, Any]) -> bool:
        return state.progress(self.session_id, self.lease, progress)

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        return state.add_epoch(self.session_id, self.lease, entry, progress)

    def cancel_request(self) -> str | None:
        return state.cancel_request(self.session_id)
