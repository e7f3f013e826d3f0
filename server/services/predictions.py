"""Scoring rows with a trained model or a saved model's version, its files found as the API finds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from server.errors import not_found
from server.models import SavedModel, SavedModelVersion, TrainedModel
from server.services import model_files, model_import, registry, sandboxed_scoring, scoring, trained_models
from server.settings import Settings


def _sandboxed(db: Session, settings: Settings, model: TrainedModel, path: Path) -> scoring.Sandboxed:
    """Scoring in a worker's sandbox, where MODEL's frozen code cells run (for a file the API cannot load safely)."""

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        session = model.session  # read only when needed: most models load in the API
        return sandboxed_scoring.score(db, settings, session.design, session.queue, path, inputs)

    return run


def with_trained_model(db: Session, settings: Settings, model: TrainedModel, rows: Any) -> dict[str, Any]:
    """Predictions for ROWS by MODEL with the preprocessing saved with it."""
    path = trained_models.file_path(settings, model)
    root = model_files.files_root(db, settings, model)
    return scoring.predict(
        model, path, rows, root, _sandboxed(db, settings, model, path), trained_models.number_format(db, model)
    )


def with_version(
    db: Session, settings: Settings, saved: SavedModel, version: SavedModelVersion, rows: Any
) -> dict[str, Any]:
    """Predictions for ROWS by one VERSION of SAVED, naming the version; 409 for an imported one (no preprocessing)."""
    if model_import.is_imported(version):
        raise model_import.not_scorable(saved, version)
    model = db.get(TrainedModel, version.trained_model_id)
    if model is None:
        raise not_found("trained model", version.trained_model_id)
    path = registry.file_path(settings, version)
    root = model_files.files_root(db, settings, model)
    out = scoring.predict(
        model, path, rows, root, _sandboxed(db, settings, model, path), trained_models.number_format(db, model)
    )
    return {**out, "version_id": version.version_id}
