"""Where scoring finds a trained model's dataset files (image paths in rows are relative to them)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from server.models import Analysis, Dataset, TrainedModel
from server.services import datasets
from server.settings import Settings


def files_root(db: Session, settings: Settings, model: TrainedModel) -> Path | None:
    """The image files folder of the dataset MODEL was trained on, if it still exists."""
    analysis = db.get(Analysis, model.analysis_id)
    dataset = db.get(Dataset, analysis.dataset_id) if analysis else None
    return datasets.files_root(settings, dataset) if dataset and dataset.kind == "images" else None
