"""The worker's SQL side of a session: claim, progress, epochs and the end, each retried while SQL is away.

Status changes are the life cycle's (server/lifecycle.py); this module runs them in retried transactions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contracts import ErrorInfo
from core.status import SessionStatus
from server import lifecycle
from server.models import TrainedModel, TrainingSession, utcnow
from server.services import retrain
from server.settings import get_settings
from server.transactions import RETRY_DELAYS_S, with_retry

__all__ = [
    "RETRY_DELAYS_S",
    "add_epoch",
    "cancel_request",
    "claim",
    "finish",
    "hand_back",
    "load",
    "progress",
    "reset_history",
    "with_retry",
]


def claim(session_id: int, worker: str) -> int | None:
    """Mark a queued session running for WORKER; returns the new lease, or None if it is not queued."""
    return with_retry(lambda db: lifecycle.claim(db, session_id, worker), f"claim session {session_id}")


def progress(session_id: int, lease: int, progress: dict[str, Any]) -> bool:
    """Store batch progress (and serve as the session's heartbeat)."""
    values = {"progress": progress, "heartbeat_at": utcnow()}
    return with_retry(lambda db: lifecycle.write_held(db, session_id, lease, values), "progress")


def add_epoch(session_id: int, lease: int, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
    """Append one epoch's logs to the history."""

    def _do(db: Session) -> bool:
        row = db.get(TrainingSession, session_id)
        if row is None or not lifecycle.holds(row, lease):
            return False
        # A resumed session may report an epoch again: the newer logs replace the older ones.
        history = [h for h in (row.history or []) if h.get("epoch") != entry["epoch"]]
        values = {"history": [*history, entry], "progress": progress, "heartbeat_at": utcnow()}
        return lifecycle.write_held(db, session_id, lease, values)

    return with_retry(_do, "add epoch")


def cancel_request(session_id: int) -> str | None:
    """The pending interrupt/abort request of a session, if any."""

    def _do(db: Session) -> str | None:
        return db.scalar(select(TrainingSession.cancel_request).where(TrainingSession.id == session_id))

    return with_retry(_do, "poll cancel")


def finish(
    session_id: int,
    lease: int,
    status: str,
    error: ErrorInfo | None = None,
    interrupted: bool = False,
    model: TrainedModel | None = None,
) -> bool:
    """End a session (and record its trained model, and for a retrain its new saved-model version, in the same
    transaction)."""

    def _do(db: Session) -> bool:
        done = lifecycle.finish(
            db, session_id, lease, SessionStatus(status), error=error, interrupted=interrupted, model=model
        )
        if done and model is not None:  # a retrain's new version is committed with its success, or neither is
            retrain.on_success(db, session_id, model)
        return done

    # Retried for longer and at most every 5 s: a training's end must not be lost to a full disk or a long outage,
    # and once the database takes writes again the outcome is stored within seconds.
    return with_retry(_do, f"finish session {session_id}", total_s=get_settings().db_finish_retry_s, longest_s=5)


def load(session_id: int) -> TrainingSession | None:
    """A detached copy of the session row."""

    def _do(db: Session) -> TrainingSession | None:
        row = db.get(TrainingSession, session_id)
        if row is not None:
            db.expunge(row)
        return row

    return with_retry(_do, "load session")


def hand_back(session_id: int, lease: int, reason: str) -> bool:
    """Put a running session we hold back in the queue, for another worker to resume."""
    return with_retry(lambda db: lifecycle.hand_back(db, session_id, lease, reason), f"hand back session {session_id}")


def reset_history(session_id: int, lease: int, history: list[dict[str, Any]]) -> bool:
    """Make the stored history what the checkpoint holds (empty when starting over)."""
    return with_retry(lambda db: lifecycle.write_held(db, session_id, lease, {"history": history}), "reset history")
