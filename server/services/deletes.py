"""Deleting an ML task or a training session, and what a delete takes with it (the web UI's confirmations)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.status import SessionStatus
from server.errors import conflict
from server.models import (
    Analysis,
    Dataset,
    ManagedFolder,
    MLTask,
    Project,
    SavedModel,
    TrainedModel,
    TrainingSession,
    User,
)
from server.services import analyses, audit, storage
from server.settings import Settings

_BUSY = (SessionStatus.QUEUED, SessionStatus.RUNNING)


def _folders_of(db: Session, settings: Settings, what: str, rows: Sequence[TrainingSession]) -> list[Path]:
    """The folders that go with ROWS (their logs and their models' files); 409 while one is queued or running, or
    while one of their models is deployed (the same rules as analyses.delete)."""
    busy = next((s for s in rows if s.status in _BUSY), None)
    if busy is not None:
        raise conflict("session_running", f"Session s{busy.number} of {what} is {busy.status}; abort it first.")
    ids = [s.id for s in rows]
    models = list(db.scalars(select(TrainedModel).where(TrainedModel.session_id.in_(ids)))) if ids else []
    analyses.refuse_if_deployed(db, models)
    return [(settings.artifacts / m.path).parent for m in models] + [storage.session_dir(settings, i) for i in ids]


def _remove(settings: Settings, folders: list[Path]) -> None:
    for folder in folders:
        if folder.exists():
            storage.remove_tree(folder, settings.artifacts)


def delete_ml_task(db: Session, settings: Settings, user: User, task: MLTask) -> None:
    """Delete TASK with its sessions, dry runs and trained models (and their files); 409 as _folders_of says."""
    rows = list(db.scalars(select(TrainingSession).where(TrainingSession.ml_task_id == task.id)))
    folders = _folders_of(db, settings, f"ML task {task.id}", rows)
    ident, key = task.id, task.analysis.project.key
    db.delete(task)  # sessions, trained models and dry runs go by their ON DELETE CASCADE keys
    db.flush()
    _remove(settings, folders)
    audit.record(db, user, "mltask.delete", ident, project=key)


def delete_session(db: Session, settings: Settings, user: User, row: TrainingSession) -> None:
    """Delete session ROW with its trained model, log and checkpoints; 409 as _folders_of says."""
    task = db.get(MLTask, row.ml_task_id)
    folders = _folders_of(db, settings, f"ML task {row.ml_task_id}", [row])
    ident = row.id
    db.delete(row)
    db.flush()
    _remove(settings, folders)
    audit.record(db, user, "session.delete", str(ident), project=task.analysis.project.key if task else None)


def _count(db: Session, query: object) -> int:
    return int(db.scalar(query) or 0)  # type: ignore[call-overload]


def _counts(db: Session, queries: dict[str, Any]) -> dict[str, int]:
    """Each of QUERIES' counts, in one SQL statement (pages show these, and a page runs few statements)."""
    row = db.execute(select(*(q.scalar_subquery() for q in queries.values()))).one()
    return {name: int(n or 0) for name, n in zip(queries, row, strict=True)}


def _sessions_of(task_ids: Any) -> Any:
    return select(func.count(TrainingSession.id)).where(TrainingSession.ml_task_id.in_(task_ids))


def _models_of(task_ids: Any) -> Any:
    return select(func.count(TrainedModel.id)).where(TrainedModel.ml_task_id.in_(task_ids))


def project_impact(db: Session, project: Project) -> dict[str, int]:
    """How many of each kind of thing deleting PROJECT deletes with it."""
    analysis_ids = select(Analysis.id).where(Analysis.project_id == project.id)
    task_ids = select(MLTask.id).where(MLTask.analysis_id.in_(analysis_ids))
    return _counts(
        db,
        {
            "datasets": select(func.count(Dataset.id)).where(Dataset.project_id == project.id),
            "analyses": select(func.count(Analysis.id)).where(Analysis.project_id == project.id),
            "ML tasks": select(func.count(MLTask.id)).where(MLTask.analysis_id.in_(analysis_ids)),
            "sessions": _sessions_of(task_ids),
            "saved models": select(func.count(SavedModel.id)).where(SavedModel.project_id == project.id),
            "folders": select(func.count(ManagedFolder.id)).where(ManagedFolder.project_id == project.id),
        },
    )


def analysis_impact(db: Session, analysis: Analysis) -> dict[str, int]:
    """How many ML tasks, sessions and trained models deleting ANALYSIS deletes with it."""
    task_ids = select(MLTask.id).where(MLTask.analysis_id == analysis.id)
    return _counts(
        db,
        {
            "ML tasks": select(func.count(MLTask.id)).where(MLTask.analysis_id == analysis.id),
            "sessions": _sessions_of(task_ids),
            "trained models": _models_of(task_ids),
        },
    )


def task_impacts(db: Session, tasks: Sequence[MLTask]) -> dict[str, dict[str, int]]:
    """For each of TASKS: how many sessions and trained models deleting it deletes with it (one SQL statement)."""
    if not tasks:
        return {}
    sessions = select(func.count(TrainingSession.id)).where(TrainingSession.ml_task_id == MLTask.id)
    models = select(func.count(TrainedModel.id)).where(TrainedModel.ml_task_id == MLTask.id)
    query = select(MLTask.id, sessions.scalar_subquery(), models.scalar_subquery()).where(
        MLTask.id.in_([t.id for t in tasks])
    )
    return {i: {"sessions": int(n), "trained models": int(m)} for i, n, m in db.execute(query)}


def dataset_users(db: Session, dataset: Dataset) -> int:
    """How many analyses use DATASET (while any does, it cannot be deleted)."""
    return _count(db, select(func.count(Analysis.id)).where(Analysis.dataset_id == dataset.id))


def _singular(name: str) -> str:
    return name[: -len("es")] + "is" if name.endswith("ses") else name[:-1]


def describe(counts: dict[str, int]) -> str:
    """'its 4 sessions and 2 trained models' for the non-zero COUNTS, '' when all are zero."""
    parts = [f"{n} {_singular(name) if n == 1 else name}" for name, n in counts.items() if n]
    if not parts:
        return ""
    return "its " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1])
