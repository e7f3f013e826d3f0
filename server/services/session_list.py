"""An ML task's sessions as lists show them: summary columns only, paged in SQL. The design (frozen code and
settings) is never loaded: the few fields a list shows of it are read in SQL; a history is loaded only for the
rows of a page that show it (docs/decisions.md, "Lists that scale")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, lazyload, load_only

from core.status import SessionStatus
from server.models import MLTask, TrainingSession
from server.services import sessions
from server.services.ids import is_sql_int

S = TrainingSession
# Newest first: a session's number grows with each submit and is unique in its ML task (an index covers it).
ORDER = (S.number,)
# Every column a list item shows but the design and the history (JSON, kilobytes each per session).
SUMMARY = (
    S.id,
    S.ml_task_id,
    S.number,
    S.status,
    S.interrupted,
    S.submitted_by,
    S.queue,
    S.queued_at,
    S.started_at,
    S.ended_at,
    S.worker,
    S.progress,
    S.error,
    S.trained_model_id,
    S.tags,
    S.note,
)


def summary_query(task: MLTask) -> Select[Any]:
    """TASK's sessions with their summary columns and, read from the design in SQL, metric, submitter and the
    session continued (rows: (session, metric, submitter, continued_from)); order and page with ORDER."""
    return (
        select(
            S,
            S.design[("settings", "metric")].as_string().label("metric"),
            S.design["submitted_by"].as_string().label("submitter"),
            S.design[("continued_from", "session_id")].as_integer().label("continued_from"),
        )
        .where(S.ml_task_id == task.id)
        # The task is already loaded (access.ml_task): no join to it, and its settings, on every row.
        .options(load_only(*SUMMARY), lazyload(S.ml_task))
    )


def ids(db: Session, task: MLTask) -> list[tuple[int, int]]:
    """(id, number) of TASK's sessions, newest first."""
    query = select(S.id, S.number).where(S.ml_task_id == task.id).order_by(S.number.desc())
    return [(i, n) for i, n in db.execute(query).all()]


def one(db: Session, task: MLTask, session_id: int) -> TrainingSession | None:
    """TASK's session SESSION_ID, whole (None when TASK has none of that id, or it cannot be one)."""
    if not is_sql_int(session_id):
        return None
    return db.scalar(select(S).where(S.id == session_id, S.ml_task_id == task.id))


def histories(db: Session, session_ids: list[int]) -> dict[int, list[Any]]:
    """The history of each session of SESSION_IDS (one query), by id."""
    if not session_ids:
        return {}
    query = select(S.id, S.history).where(S.id.in_(session_ids))
    return {i: history or [] for i, history in db.execute(query).all()}


def queue_positions(db: Session, rows: list[TrainingSession]) -> dict[int, int]:
    """session_progress.queue_position of each queued session of ROWS, by id, in one query for all of them."""
    queues = {r.queue for r in rows if r.status == SessionStatus.QUEUED}
    if not queues:
        return {}
    waiting = db.execute(
        select(S.id, S.queue)
        .where(S.status == SessionStatus.QUEUED, S.queue.in_(queues))
        .order_by(S.queued_at, S.id)  # the order session_progress.queue_position counts in
    ).all()
    seen: dict[str, int] = {}
    positions = {}
    for session_id, queue in waiting:
        seen[queue] = positions[session_id] = seen.get(queue, 0) + 1
    return positions


def items(db: Session, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """The API shape (sessions.shape) of each of ROWS (summary_query's); their histories in one more query."""
    found = histories(db, [r[0].id for r in rows])
    positions = queue_positions(db, [r[0] for r in rows])
    return [
        sessions.shape(
            row,
            {"submitted_by": submitter, "metric": metric, "continued_from": continued},
            found.get(row.id, []),
            positions.get(row.id),
        )
        for row, metric, submitter, continued, *_ in rows
    ]
