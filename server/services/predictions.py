"""Scoring rows with a trained model or a saved model's version, its files found as the API finds them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.errors import not_found
from server.models import SavedModel, SavedModelVersion, TrainedModel
from server.services import model_files, model_import, registry, scoring, trained_models
from server.settings import Settings


def with_trained_model(db: Session, settings: Settings, model: TrainedModel, rows: Any) -> dict[str, Any]:
    """Predictions for ROWS by MODEL with the preprocessing saved with it."""
    path = trained_models.file_path(settings, model)
    return scoring.predict(model, path, rows, model_files.files_root(db, settings, model))


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
    out = scoring.predict(model, path, rows, model_files.files_root(db, settings, model))
    return {**out, "version_id": version.version_id}
