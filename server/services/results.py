"""An ML task's results: its training sessions as the results page lists them, and one session in detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.status import TERMINAL, SessionStatus
from server.models import MLTask, TrainingSession, utcnow
from server.services import sessions, trained_models


def duration(row: TrainingSession, now: datetime | None = None) -> float | None:
    """Seconds ROW has run: until it ended, or until NOW while it runs (None before it starts)."""
    if row.started_at is None:
        return None
    end = row.ended_at or ((now or utcnow()) if row.status == SessionStatus.RUNNING else None)
    return (end - row.started_at).total_seconds() if end else None


def metric_value(row: TrainingSession, key: str, model_metrics: dict[str, Any] | None) -> Any:
    """The optimisation metric KEY: the kept epoch's for a trained model, else the latest epoch's."""
    if model_metrics is not None:
        return model_metrics.get(key)
    history = row.history or []
    return history[-1].get(key) if history else None


def of_task(db: Session, task: MLTask) -> list[dict[str, Any]]:
    """TASK's sessions newest first, each as {row, metric, value, duration, submitter}."""
    metrics = trained_models.metrics_of_task(db, task)
    entries = []
    for row in sessions.of_task(db, task):
        design = row.design or {}
        metric = design.get("settings", {}).get("metric", "")
        key = trained_models.test_key(metric)
        entries.append(
            {
                "row": row,
                "metric": metric,
                "value": metric_value(row, key, metrics.get(row.trained_model_id or "")),
                "duration": duration(row),
                "submitter": design.get("submitted_by", "—"),
            }
        )
    return entries


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
