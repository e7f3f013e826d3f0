"""Evaluations of saved model versions on labelled datasets (api.md "Batch jobs"): submitted as jobs of kind
"evaluate" (server/services/jobs.py), made by worker/evaluate_job_task.py, read and listed here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import not_found
from server.models import Evaluation, Project, SavedModel, User
from server.services import access
from server.services.ids import is_sql_int


def get(db: Session, user: User, evaluation_id: int) -> Evaluation:
    """The evaluation EVALUATION_ID if USER may read its project (404 as for a missing one otherwise)."""
    missing = not_found("evaluation", evaluation_id)
    row = db.get(Evaluation, evaluation_id) if is_sql_int(evaluation_id) else None
    project = db.get(Project, row.project_id) if row is not None else None
    if row is None or project is None:
        raise missing
    access.check(db, user, project, "reader", missing)
    return row


def of_saved_model(db: Session, saved: SavedModel) -> list[Evaluation]:
    """SAVED's evaluations, newest first."""
    query = select(Evaluation).where(Evaluation.saved_model_id == saved.id).order_by(Evaluation.id.desc())
    return list(db.scalars(query))


def as_dict(row: Evaluation, charts: bool = True) -> dict[str, Any]:
    """The API shape of an evaluation (its charts' data left out of lists)."""
    out = {
        "id": row.id,
        "saved_model_id": row.saved_model_id,
        "version_id": row.version_id,
        "dataset_id": row.dataset_id,
        "dataset_name": row.dataset_name,
        "job_id": row.job_id,
        "prediction_type": row.prediction_type,
        "target": row.target,
        "n_rows": row.n_rows,
        "rows_failed": row.rows_failed,
        "metrics": row.metrics,
        "created_at": row.created_at,
    }
    if charts:
        out["charts"] = row.charts
    return out
