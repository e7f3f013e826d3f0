"""Training sessions: submit (commit, then publish), read, interrupt, abort."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.status import SessionStatus
from server import lifecycle
from server.db import session_scope
from server.errors import conflict, invalid
from server.models import MLTask, TrainingSession, User, utcnow
from server.services import audit, mltasks, session_progress
from server.services.design import frozen_design
from server.services.ids import is_sql_int, parse_session_ref
from server.settings import get_settings

log = logging.getLogger(__name__)


def queue_of(design: dict[str, Any]) -> str:
    """The Celery queue a design trains on: gpu when it asks for a GPU, else cpu."""
    return "gpu" if design.get("gpu", {}).get("use_gpu") else "cpu"


def submit(db: Session, user: User, task: MLTask) -> TrainingSession:
    """Validate TASK's design, freeze it into a new queued session, commit, then publish it."""
    doc, errors = mltasks.validate_settings(task, {})
    if doc is None:
        raise invalid("The design cannot be trained; fix these errors first.", errors=errors, code="invalid_settings")
    number = next_number(db, task.id)
    design = frozen_design(task, user, doc).as_dict()
    session = TrainingSession(
        ml_task_id=task.id,
        number=number,
        status=SessionStatus.QUEUED,
        submitted_by=user.id,
        design=design,
        queue=queue_of(doc),
        progress={"epoch": 0, "epochs": doc["training"]["epochs"], "batch": 0, "batches": None},
        history=[],
    )
    return enqueue(db, user, session, "session.submit", f"{task.id}/s{number}", code=doc["code"])


def next_number(db: Session, task_id: int) -> int:
    """The next session number of ML task TASK_ID, its row locked so that concurrent submits get distinct numbers."""
    update_number = (
        update(MLTask)
        .where(MLTask.id == task_id)
        .values(next_session_number=MLTask.next_session_number + 1)
        .returning(MLTask.next_session_number)
    )
    return int(db.execute(update_number).scalar_one()) - 1


def enqueue(
    db: Session, user: User, session: TrainingSession, action: str, target: str, **details: Any
) -> TrainingSession:
    """Add the new queued SESSION, audit ACTION on TARGET (with DETAILS) by USER, commit, then publish it."""
    db.add(session)
    db.flush()
    audit.record(db, user, action, target, session_id=session.id, **details, project=session.design["project_key"])
    db.commit()
    publish(session)
    return session


def publish(session: TrainingSession) -> bool:
    """Put SESSION's Celery task on its queue and note when; a failed publish is repaired by the reconciler."""
    from server.broker import publish  # Celery loads on the first publish, not at API start-up

    try:
        publish(get_settings(), "fitstudio.train", session.id, session.queue)
    except Exception:  # the session stays queued in SQL; the reconciler re-publishes it
        log.exception("publishing session %s failed; the reconciler will retry", session.id)
        return False
    with session_scope() as db:
        db.execute(update(TrainingSession).where(TrainingSession.id == session.id).values(published_at=utcnow()))
    return True


def of_task(db: Session, task: MLTask) -> list[TrainingSession]:
    """TASK's sessions, newest first."""
    return list(
        db.scalars(
            select(TrainingSession).where(TrainingSession.ml_task_id == task.id).order_by(TrainingSession.number.desc())
        )
    )


def by_number(db: Session, task: MLTask, ref: str | int) -> TrainingSession | None:
    """TASK's session number REF (3, "3" or "s3")."""
    try:
        number = parse_session_ref(ref)
    except ValueError:
        return None
    if not is_sql_int(number):
        return None
    return db.scalar(
        select(TrainingSession).where(TrainingSession.ml_task_id == task.id, TrainingSession.number == number)
    )


def interrupt(db: Session, user: User, session: TrainingSession) -> TrainingSession:
    """Ask a running session to stop after the current batch and keep its best epoch."""
    if session.status != SessionStatus.RUNNING:
        raise conflict(
            "not_running", f"Session {session.id} is {session.status}; only a running session can be interrupted."
        )
    session.cancel_request = "interrupt"
    audit.record(db, user, "session.interrupt", str(session.id), project=session.ml_task.analysis.project.key)
    db.commit()
    return session


def abort(db: Session, user: User, session: TrainingSession) -> TrainingSession:
    """Abort SESSION: a queued one never starts; a running one is killed and ends aborted."""
    if SessionStatus(session.status).is_terminal:
        raise conflict("already_ended", f"Session {session.id} already ended ({session.status}).")
    audit.record(db, user, "session.abort", str(session.id), project=session.ml_task.analysis.project.key)
    lifecycle.abort(db, session)
    db.commit()
    db.refresh(session)
    return session


def as_dict(session: TrainingSession, submitter: str | None = None) -> dict[str, Any]:
    """The API shape of a session."""
    design = session.design or {}
    derived = {
        "submitted_by": submitter or design.get("submitted_by"),
        "metric": design.get("settings", {}).get("metric"),
        "continued_from": (design.get("continued_from") or {}).get("session_id"),
    }
    return shape(session, derived, session.history or [], session_progress.queue_position(session))


def shape(
    session: TrainingSession, derived: dict[str, Any], history: list[Any], queue_position: int | None
) -> dict[str, Any]:
    """The API shape of SESSION whose design-derived fields (submitted_by, metric, continued_from) are DERIVED and
    whose history is HISTORY: lists read those in SQL and never load the design (session_list)."""
    return {
        "id": session.id,
        "ml_task_id": session.ml_task_id,
        "number": session.number,
        "status": session.status,
        "interrupted": session.interrupted,
        "queued_at": session.queued_at,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "worker": session.worker,
        "queue": session.queue,
        "submitted_by": derived["submitted_by"],
        "metric": derived["metric"],
        "progress": session_progress.progress(session),
        "queue_position": queue_position,
        "history": history,
        "error": session.error,
        "trained_model_id": session.trained_model_id,
        "continued_from": derived["continued_from"],
        "tags": session.tags or [],
        "note": session.note or "",
    }
