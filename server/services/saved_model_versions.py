"""A saved model's versions as they are listed: each with its trained model, score, location and loading code."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.models import SavedModel
from server.services import model_import, registry, trained_models
from server.settings import Settings


def load_snippet(saved: SavedModel, version_id: str) -> str:
    """The code that loads one version of SAVED from a code cell."""
    return (
        "from fitstudio.deep_learning.load_model import get_keras_model_from_saved_model\n\n"
        f'model = get_keras_model_from_saved_model(saved_model_id={saved.id}, version_id="{version_id}")'
    )


def entries(db: Session, settings: Settings, saved: SavedModel) -> list[dict[str, Any]]:
    """SAVED's versions newest first: {version, model, metric, value, active, location, snippet, imported}."""
    versions = list(saved.versions)
    models = trained_models.by_ids(db, [v.trained_model_id for v in versions])
    rows = []
    for v in reversed(versions):
        model = models.get(v.trained_model_id)
        rows.append(
            {
                "version": v,
                "model": model,  # None when no trained model backs the version any more
                "metric": model.metric if model else "",
                "value": trained_models.score(model) if model else None,
                "active": v.version_id == saved.active_version,
                "location": registry.location(settings, saved, v),
                "snippet": load_snippet(saved, v.version_id),
                "imported": model_import.metadata(settings, v),
            }
        )
    return rows
