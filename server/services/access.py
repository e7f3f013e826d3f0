"""Load a resource by id and check the caller's role on its project in one step."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.errors import ApiError, not_found
from server.models import (
    Analysis,
    Dataset,
    MLTask,
    Project,
    SavedModel,
    TrainedModel,
    TrainingSession,
    User,
)
from server.services.auth import role_in
from server.services.ids import is_sql_int

_RANK = {"reader": 0, "writer": 1, "admin": 2}


def check(db: Session, user: User, project: Project, needed: str, missing: ApiError) -> str:
    """USER's role in PROJECT if at least NEEDED; MISSING (a 404) when they cannot see it, else 403."""
    role = role_in(db, user, project)
    if role is None:
        raise missing
    if _RANK[role] < _RANK[needed]:
        raise ApiError(
            403,
            "forbidden",
            f"This needs the {needed!r} role in project {project.key}; you have {role!r}. Ask a project admin.",
        )
    return role


def project(db: Session, user: User, key: str, needed: str = "reader") -> Project:
    """The project KEY if USER holds NEEDED in it."""
    from sqlalchemy import select

    missing = not_found("project", key)
    row = db.scalar(select(Project).where(Project.key == key))
    if row is None:
        raise missing
    check(db, user, row, needed, missing)
    return row


def dataset(db: Session, user: User, dataset_id: int, needed: str = "reader") -> Dataset:
    """The dataset DATASET_ID if USER holds NEEDED in its project."""
    missing = not_found("dataset", dataset_id)
    row = db.get(Dataset, dataset_id) if is_sql_int(dataset_id) else None
    if row is None:
        raise missing
    check(db, user, db.get(Project, row.project_id), needed, missing)  # type: ignore[arg-type]
    return row


def analysis(db: Session, user: User, analysis_id: str, needed: str = "reader") -> Analysis:
    """The analysis ANALYSIS_ID if USER holds NEEDED in its project."""
    missing = not_found("analysis", analysis_id)
    row = db.get(Analysis, analysis_id)
    if row is None:
        raise missing
    check(db, user, row.project, needed, missing)
    return row


def ml_task(db: Session, user: User, mltask_id: str, needed: str = "reader") -> MLTask:
    """The ML task MLTASK_ID if USER holds NEEDED in its project."""
    missing = not_found("ML task", mltask_id)
    row = db.get(MLTask, mltask_id)
    if row is None:
        raise missing
    check(db, user, row.analysis.project, needed, missing)
    return row


def session(db: Session, user: User, session_id: int, needed: str = "reader") -> TrainingSession:
    """The training session SESSION_ID if USER holds NEEDED in its project."""
    missing = not_found("session", session_id)
    row = db.get(TrainingSession, session_id) if is_sql_int(session_id) else None
    if row is None:
        raise missing
    check(db, user, row.ml_task.analysis.project, needed, missing)
    return row


def trained_model(db: Session, user: User, tmid: str, needed: str = "reader") -> TrainedModel:
    """The trained model TMID if USER holds NEEDED in its project."""
    missing = not_found("trained model", tmid)
    row = db.get(TrainedModel, tmid)
    if row is None:
        raise missing
    check(db, user, db.get(Project, row.project_id), needed, missing)  # type: ignore[arg-type]
    return row


def saved_model(db: Session, user: User, saved_model_id: int, needed: str = "reader") -> SavedModel:
    """The saved model SAVED_MODEL_ID if USER holds NEEDED in its project."""
    missing = not_found("saved model", saved_model_id)
    row = db.get(SavedModel, saved_model_id) if is_sql_int(saved_model_id) else None
    if row is None:
        raise missing
    check(db, user, db.get(Project, row.project_id), needed, missing)  # type: ignore[arg-type]
    return row
