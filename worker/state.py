"""The worker's SQL writes: claim with a lease, progress, epochs, and the end of a session, retried on outages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from server.db import new_session
from server.models import TrainedModel, TrainingSession, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30)


def with_retry(fn: Callable[[Session], T], what: str) -> T:
    """Run FN in a fresh transaction, retrying with backoff while the database is unreachable."""
    for delay in (*RETRY_DELAYS_S, None):
        db = new_session()
        try:
            out = fn(db)
            db.commit()
            return out
        except DBAPIError as exc:
            db.rollback()
            transient = isinstance(exc, OperationalError) or exc.connection_invalidated
            if delay is None or not transient:
                raise
            log.warning("%s: database error (%s); retrying in %ss", what, type(exc.orig).__name__, delay)
            time.sleep(delay)
        finally:
            db.close()
    raise RuntimeError("unreachable")


def claim(session_id: int, worker: str) -> int | None:
    """Mark a queued session running for WORKER; returns the new lease, or None if it is not queued."""

    def _claim(db: Session) -> int | None:
        row = db.get(TrainingSession, session_id)
        if row is None or row.status != "queued":
            return None
        lease = row.lease + 1
        done = db.execute(
            update(TrainingSession)
            .where(
                TrainingSession.id == session_id, TrainingSession.status == "queued", TrainingSession.lease == row.lease
            )
            .values(
                status="running",
                worker=worker,
                lease=lease,
                started_at=utcnow(),
                heartbeat_at=utcnow(),
                attempts=TrainingSession.attempts + 1,
                error=None,
            )
        ).rowcount
        return lease if done else None

    return with_retry(_claim, f"claim session {session_id}")


def _guarded(session_id: int, lease: int, values: dict[str, Any], what: str) -> bool:
    """Update a running session only while we still hold its lease (fencing)."""

    def _do(db: Session) -> bool:
        return bool(
            db.execute(
                update(TrainingSession)
                .where(
                    TrainingSession.id == session_id,
                    TrainingSession.lease == lease,
                    TrainingSession.status == "running",
                )
                .values(**values)
            ).rowcount
        )

    return with_retry(_do, what)


def progress(session_id: int, lease: int, progress: dict[str, Any]) -> bool:
    """Store batch progress (and serve as the session's heartbeat)."""
    return _guarded(session_id, lease, {"progress": progress, "heartbeat_at": utcnow()}, "progress")


def add_epoch(session_id: int, lease: int, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
    """Append one epoch's logs to the history."""

    def _do(db: Session) -> bool:
        row = db.get(TrainingSession, session_id)
        if row is None or row.lease != lease or row.status != "running":
            return False
        history = [h for h in (row.history or []) if h.get("epoch") != entry["epoch"]]
        row.history = [*history, entry]
        row.progress = progress
        row.heartbeat_at = utcnow()
        return True

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
    error: dict[str, Any] | None = None,
    interrupted: bool = False,
    model: TrainedModel | None = None,
) -> bool:
    """End a session (and record its trained model in the same transaction)."""

    def _do(db: Session) -> bool:
        row = db.get(TrainingSession, session_id)
        if row is None or row.lease != lease or row.status != "running":
            return False
        row.status = status
        row.error = error
        row.interrupted = interrupted
        row.ended_at = utcnow()
        if model is not None:
            db.add(model)
            row.trained_model_id = model.id
        return True

    return with_retry(_do, f"finish session {session_id}")


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

    def _do(db: Session) -> bool:
        row = db.get(TrainingSession, session_id)
        if row is None or row.lease != lease or row.status != "running":
            return False
        row.status, row.worker, row.lease, row.published_at = "queued", None, lease + 1, None
        row.progress = {**(row.progress or {}), "requeued": reason}
        return True

    return with_retry(_do, f"hand back session {session_id}")


def reset_history(session_id: int, lease: int, history: list[dict[str, Any]]) -> bool:
    """Make the stored history what the checkpoint holds (empty when starting over)."""
    return _guarded(session_id, lease, {"history": history}, "reset history")
