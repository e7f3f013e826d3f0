"""A training session's life cycle: the one module that changes its status, by guarded transitions only.

queued → running (claim) → succeeded | failed | aborted (finish); running → queued (hand_back: drain or lost
worker); queued → aborted (abort before it starts). Every write is a conditional UPDATE on the status it
expects and, once running, on the lease: a worker whose lease was taken (re-queued, failed as lost) can write
nothing more, and a terminal session never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.contracts import ErrorInfo
from core.status import SessionStatus
from server.models import TrainedModel, TrainingSession, utcnow

QUEUED, RUNNING = SessionStatus.QUEUED, SessionStatus.RUNNING

# The legal moves; terminal states have none, so an ended session keeps its status for ever.
LEGAL: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.QUEUED: frozenset({SessionStatus.RUNNING, SessionStatus.ABORTED}),
    SessionStatus.RUNNING: frozenset(
        {SessionStatus.QUEUED, SessionStatus.SUCCEEDED, SessionStatus.FAILED, SessionStatus.ABORTED}
    ),
}


class IllegalTransition(ValueError):
    """A move the life cycle does not allow: a programming error, never a race (races just write nothing)."""


def _write(db: Session, session_id: int, expected: SessionStatus, lease: int | None, values: Mapping[str, Any]) -> bool:
    """The conditional UPDATE: applied only while the session is EXPECTED (and held under LEASE when given)."""
    conditions = [TrainingSession.id == session_id, TrainingSession.status == expected]
    if lease is not None:
        conditions.append(TrainingSession.lease == lease)
    return bool(db.execute(update(TrainingSession).where(*conditions).values(**values)).rowcount)


def transition(
    db: Session,
    session_id: int,
    expected: SessionStatus,
    to: SessionStatus,
    *,
    lease: int | None = None,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Move a session from EXPECTED to TO (writing VALUES too); False when it is no longer EXPECTED or held."""
    if to not in LEGAL.get(expected, frozenset()):
        raise IllegalTransition(f"a {expected} session cannot become {to}")
    return _write(db, session_id, expected, lease, {**(values or {}), "status": to})


def write_held(db: Session, session_id: int, lease: int, values: Mapping[str, Any]) -> bool:
    """Write VALUES (progress, history, heartbeat; never the status) while LEASE still holds the running session."""
    if "status" in values:
        raise IllegalTransition("the status changes by transition() only")
    return _write(db, session_id, RUNNING, lease, values)


def holds(row: TrainingSession | None, lease: int) -> bool:
    """Whether ROW is running under LEASE (what a worker checks before a read-modify-write)."""
    return row is not None and row.lease == lease and row.status == RUNNING


def claim(db: Session, session_id: int, worker: str) -> int | None:
    """queued → running on WORKER with a new lease (returned); None when it is not queued any more."""
    row = db.get(TrainingSession, session_id)
    if row is None or row.status != QUEUED:
        return None
    lease = row.lease + 1
    values = {
        "worker": worker,
        "lease": lease,
        "started_at": utcnow(),
        "heartbeat_at": utcnow(),
        "attempts": TrainingSession.attempts + 1,
        "error": None,
    }
    return lease if transition(db, session_id, QUEUED, RUNNING, lease=row.lease, values=values) else None


def hand_back(db: Session, session_id: int, lease: int, reason: str) -> bool:
    """running → queued with a new lease (the old holder can write nothing more), for another worker to resume."""
    row = db.get(TrainingSession, session_id)
    if row is None or not holds(row, lease):
        return False
    values = {
        "worker": None,
        "lease": lease + 1,
        "published_at": None,
        "progress": {**(row.progress or {}), "requeued": reason},
    }
    return transition(db, session_id, RUNNING, QUEUED, lease=lease, values=values)


def finish(
    db: Session,
    session_id: int,
    lease: int,
    to: SessionStatus,
    *,
    error: ErrorInfo | None = None,
    interrupted: bool = False,
    model: TrainedModel | None = None,
) -> bool:
    """running → TO (a terminal status) by its worker, recording its trained model in the same transaction."""
    if not to.is_terminal:
        raise IllegalTransition(f"finish() ends a session; {to} is not an end")
    values: dict[str, Any] = {
        "error": error.as_dict() if error is not None else None,
        "interrupted": interrupted,
        "ended_at": utcnow(),
    }
    if model is not None:
        values["trained_model_id"] = model.id
    if not transition(db, session_id, RUNNING, to, lease=lease, values=values):
        return False
    if model is not None:
        db.add(model)
    return True


def fail_lost(db: Session, session_id: int, lease: int, message: str) -> bool:
    """running → failed (worker_lost) for a session whose worker is gone and that may not be retried."""
    values = {"ended_at": utcnow(), "lease": lease + 1, "error": ErrorInfo("worker_lost", message).as_dict()}
    return transition(db, session_id, RUNNING, SessionStatus.FAILED, lease=lease, values=values)


def abort_lost(db: Session, session_id: int, lease: int) -> bool:
    """running → aborted for a session asked to abort whose worker is gone (nobody is left to obey the request)."""
    values = {"ended_at": utcnow(), "lease": lease + 1}
    return transition(db, session_id, RUNNING, SessionStatus.ABORTED, lease=lease, values=values)


def abort(db: Session, session: TrainingSession) -> bool:
    """Abort SESSION: queued → aborted now (True); a running one gets the request its worker obeys (False)."""
    # Conditional on queued: a worker may be claiming it at this very moment.
    values = {"ended_at": utcnow(), "cancel_request": "abort"}
    if transition(db, session.id, QUEUED, SessionStatus.ABORTED, values=values):
        return True
    session.cancel_request = "abort"
    return False
