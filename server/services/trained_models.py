"""Trained models: listing, details, where their file lives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import evaluation
from server.models import MLTask, TrainedModel
from server.services import model_files
from server.settings import Settings


def ids_of_task(db: Session, task: MLTask) -> list[str]:
    """The ids of TASK's trained models, oldest session first."""
    return list(
        db.scalars(select(TrainedModel.id).where(TrainedModel.ml_task_id == task.id).order_by(TrainedModel.created_at))
    )


def file_path(settings: Settings, model: TrainedModel) -> Path:
    """The model's .keras file, checked against its SHA-256: 404 file_missing, 409 model_file_corrupt."""
    return model_files.verified(settings.artifacts / model.path, f"trained model {model.id}")


def location(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """{location, uri, download_url} of the model's file."""
    path = (settings.artifacts / model.path).resolve()
    return {
        "location": str(path),
        "uri": path.as_uri(),
        "download_url": f"{settings.public_url.rstrip('/')}/api/v1/trained-models/{model.id}/download",
    }


def as_dict(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """The API shape of a trained model's details."""
    loc = location(settings, model)
    return {
        "id": model.id,
        "session_id": model.session_id,
        "analysis_id": model.analysis_id,
        "ml_task_id": model.ml_task_id,
        "prediction_type": model.prediction_type,
        "metric": model.metric,
        "best_epoch": model.best_epoch,
        "metrics": model.metrics,
        "history": model.history,
        "input_shapes": model.input_shapes,
        "n_classes": model.n_classes,
        "class_labels": model.class_labels,
        "lineage": model.lineage or [],
        "location": loc["location"],
        "download_url": loc["download_url"],
        "created_at": model.created_at,
        "evaluation": evaluation.load(settings.artifacts / model.path),
    }
