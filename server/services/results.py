"""An ML task's results: its training sessions as the results page lists them, and one session in detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from core.status import TERMINAL, SessionStatus
from server.models import TrainedModel, TrainingSession, utcnow
from server.services import session_list, trained_models


def duration(row: TrainingSession, now: datetime | None = None) -> float | None:
    """Seconds ROW has run: until it ended, or until NOW while it runs (None before it starts)."""
    if row.started_at is None:
        return None
    end = row.ended_at or ((now or utcnow()) if row.status == SessionStatus.RUNNING else None)
    return (end - row.started_at).total_seconds() if end else None


def metric_value(
    row: TrainingSession, key: str, model_metrics: dict[str, Any] | None, history: list[Any] | None = None
) -> Any:
    """The optimisation metric KEY: the kept epoch's for a trained model, else the latest epoch's (of HISTORY when
    given, else of ROW's)."""
    if model_metrics is not None:
        return model_metrics.get(key)
    history = row.history if history is None else history
    return history[-1].get(key) if history else None


def entries(db: Session, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """The results page's rows of ROWS (session_list.summary_query's), each as {row, metric, value, duration,
    submitter}: the metrics of their trained models, and the histories of the others, in one query each."""
    model_ids = [r[0].trained_model_id for r in rows if r[0].trained_model_id]
    query = select(TrainedModel.id, TrainedModel.metrics).where(TrainedModel.id.in_(model_ids))
    metrics = {model_id: found for model_id, found in db.execute(query).all()} if model_ids else {}
    # A session without a model shows its latest epoch's value: running, failed, aborted (or its model deleted).
    found = session_list.histories(db, [r[0].id for r in rows if r[0].trained_model_id not in metrics])
    shown = []
    for row, metric, submitter, *_ in rows:
        key = trained_models.test_key(metric or "")
        model_metrics = metrics.get(row.trained_model_id or "")
        shown.append(
            {
                "row": row,
                "metric": metric or "",
                "value": metric_value(row, key, model_metrics, found.get(row.id, [])),
                "duration": duration(row),
                "submitter": submitter or "—",
            }
        )
    return shown


def detail(row: TrainingSession) -> dict[str, Any]:
    """What one session's panel shows (and what its live script starts from)."""
    settings = (row.design or {}).get("settings", {})
    error = row.error or None
    code = None
    if error and error.get("cell"):
        code = (settings.get("code") or {}).get(error["cell"], "")  # the frozen cell the error points into
    return {
        "id": row.id,
        "number": row.number,
        "status": row.status,
        "live": row.status not in TERMINAL,
        "metric": settings.get("metric", ""),
        "history": row.history or [],
        "progress": row.progress or {},
        "error": error,
        "error_code": code,
        "trained_model_id": row.trained_model_id,
        "interrupted": row.interrupted,
        "worker": row.worker,
        "started_at": row.started_at.isoformat() if row.started_at else None,
    }
