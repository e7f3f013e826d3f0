"""Scoring rows with a trained model or a saved model's version, its files found as the API finds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from server.errors import not_found
from server.models import SavedModel, SavedModelVersion, TrainedModel
from server.services import (
    model_files,
    model_import,
    registry,
    row_numbers,
    sandboxed_scoring,
    scoring,
    trained_models,
)
from server.settings import Settings


def _sandboxed(db: Session, settings: Settings, model: TrainedModel, path: Path) -> scoring.Sandboxed:
    """Scoring in a worker's sandbox, where MODEL's frozen code cells run (for a file the API cannot load safely)."""

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        session = model.session  # read only when needed: most models load in the API
        return sandboxed_scoring.score(db, settings, session.design, session.queue, path, inputs)

    return run


def _predict(db: Session, settings: Settings, model: TrainedModel, path: Path, rows: Any) -> dict[str, Any]:
    """Predictions for ROWS by MODEL's file PATH; the dataset it was trained on (looked up once) gives the folder
    of its images and how its numbers were written."""
    dataset = trained_models.dataset_of(db, model)
    root = model_files.files_root(settings, dataset)
    written = row_numbers.number_format(dataset.source if dataset is not None else None)
    return scoring.predict(model, path, rows, root, _sandboxed(db, settings, model, path), written)


def with_trained_model(db: Session, settings: Settings, model: TrainedModel, rows: Any) -> dict[str, Any]:
    """Predictions for ROWS by MODEL with the preprocessing saved with it."""
    return _predict(db, settings, model, trained_models.file_path(settings, model), rows)


def with_version(
    db: Session, settings: Settings, saved: SavedModel, version: SavedModelVersion, rows: Any
) -> dict[str, Any]:
    """Predictions for ROWS by one VERSION of SAVED, naming the version; 409 for an imported one (no preprocessing)."""
    if model_import.is_imported(version):
        raise model_import.not_scorable(saved, version)
    model = db.get(TrainedModel, version.trained_model_id)
    if model is None:
        raise not_found("trained model", version.trained_model_id)
    out = _predict(db, settings, model, registry.file_path(settings, version), rows)
    return {**out, "version_id": version.version_id}
