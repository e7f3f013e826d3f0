"""Workers as the service sees them: each one's state, and whether a live one consumes a queue (/readyz)."""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from server.models import Analysis, Job, MLTask, ProjectMember, TrainingSession, User, WorkerRecord, utcnow
from server.services.ids import is_sql_int
from server.settings import Settings

OPT_OUT = "FITSTUDIO_TRAINING_SANDBOX=false"


def state_of(row: WorkerRecord, settings: Settings, now: datetime | None = None) -> str:
    """stopped, silent (no heartbeat for worker_lost_after_s), refusing (no isolation: no queue) or alive."""
    if row.stopped_at is not None:
        return "stopped"
    age = ((now or utcnow()) - row.last_heartbeat).total_seconds()
    if age >= settings.worker_lost_after_s:
        return "silent"
    return "alive" if row.accepts_trainings and row.queues else "refusing"


def _beating(db: Session, settings: Settings) -> list[WorkerRecord]:
    """Workers not stopped whose last heartbeat is newer than worker_lost_after_s."""
    cutoff = utcnow() - timedelta(seconds=settings.worker_lost_after_s)
    query = select(WorkerRecord).where(WorkerRecord.stopped_at.is_(None), WorkerRecord.last_heartbeat >= cutoff)
    return list(db.scalars(query.order_by(WorkerRecord.name)))


def readiness(db: Session, settings: Settings) -> str:
    """'ok' when a live worker consumes a queue, else why not, in words."""
    beating = _beating(db, settings)
    if any(state_of(w, settings) == "alive" for w in beating):
        return "ok"
    if not beating:
        return f"no live worker: none has sent a heartbeat in the last {settings.worker_lost_after_s:g} s"
    refusing = "; ".join(f"{w.name}: {w.isolation or 'isolation not reported'}" for w in beating)
    return (
        f"no live worker: every worker that sends a heartbeat refuses trainings ({refusing}); "
        f"make the training sandbox work or set {OPT_OUT} on the worker"
    )


def readable_sessions(db: Session, user: User, ids: Iterable[Any]) -> dict[int, str]:
    """Of the session IDS, those USER may read (site admins: all; others: sessions of their projects) → ML task id."""
    wanted = sorted({i for i in ids if isinstance(i, int) and not isinstance(i, bool) and is_sql_int(i)})
    if not wanted:
        return {}
    query = select(TrainingSession.id, TrainingSession.ml_task_id).where(TrainingSession.id.in_(wanted))
    if not user.is_admin:
        query = (
            query.join(MLTask, MLTask.id == TrainingSession.ml_task_id)
            .join(Analysis, Analysis.id == MLTask.analysis_id)
            .join(
                ProjectMember,
                (ProjectMember.project_id == Analysis.project_id) & (ProjectMember.user_id == user.id),
            )
        )
    return {int(sid): str(task) for sid, task in db.execute(query).all()}


def describe(
    row: WorkerRecord, settings: Settings, now: datetime | None = None, visible: Container[int] | None = None
) -> dict[str, Any]:
    """GET /api/v1/workers' entry of one worker; with VISIBLE, only those session ids are named (busy counts all)."""
    current = list(row.current_sessions or [])
    return {
        "name": row.name,
        "hostname": row.hostname,
        "state": state_of(row, settings, now),
        "queues": row.queues,
        "gpus": row.gpus,
        "concurrency": row.concurrency,
        "current_sessions": current if visible is None else [s for s in current if s in visible],
        "busy": len(current),
        "started_at": row.started_at,
        "last_heartbeat": row.last_heartbeat,
        "stopped_at": row.stopped_at,
        "isolation": row.isolation,
        "isolated": row.isolated,
        "accepts_trainings": row.accepts_trainings,
    }


def all_rows(db: Session) -> list[WorkerRecord]:
    """Every worker seen, by name."""
    return list(db.scalars(select(WorkerRecord).order_by(WorkerRecord.name)))


def listing(db: Session, settings: Settings, user: User, now: datetime | None = None) -> list[dict[str, Any]]:
    """The workers page's rows, newest heartbeat first: {row, age, state, sessions, others}.

    `sessions` are the current sessions USER may read ({id, task}); `others` counts the rest, unnamed.
    """
    now = now or utcnow()
    rows = sorted(all_rows(db), key=lambda w: w.last_heartbeat, reverse=True)
    tasks = readable_sessions(db, user, (s for w in rows for s in (w.current_sessions or [])))
    entries = []
    for w in rows:
        current = w.current_sessions or []
        sessions = [{"id": s, "task": tasks[s]} for s in current if s in tasks]
        entries.append(
            {
                "row": w,
                "age": (now - w.last_heartbeat).total_seconds(),
                "state": state_of(w, settings, now),
                "sessions": sessions,
                "others": len(current) - len(sessions),
            }
        )
    return entries


def serves(db: Session, settings: Settings, queue: str) -> bool:
    """Whether a live worker that accepts user code consumes QUEUE (sandboxed scoring needs one to answer)."""
    return any(state_of(w, settings) == "alive" and queue in (w.queues or []) for w in _beating(db, settings))


def lost(work: type[TrainingSession] | type[Job], settings: Settings) -> ColumnElement[bool]:
    """Where running WORK (sessions or jobs) is lost: neither its worker nor its own heartbeat beat for
    worker_lost_after_s (callers add the status). Its worker is alive only if that same incarnation (started
    before the work) still beats and has not stopped."""
    cutoff = utcnow() - timedelta(seconds=settings.worker_lost_after_s)
    owner_alive = exists().where(
        and_(
            WorkerRecord.name == work.worker,
            WorkerRecord.last_heartbeat >= cutoff,
            WorkerRecord.stopped_at.is_(None),
            WorkerRecord.started_at <= work.started_at,
        )
    )
    return and_(~owner_alive, or_(work.heartbeat_at.is_(None), work.heartbeat_at < cutoff))
