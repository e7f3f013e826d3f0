"""Response bodies of saved models and their versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from server.schemas.trained_models import LocationOut, PredictionOut


class VersionOut(BaseModel):
    """One version of a saved model: deployed from a trained model, or imported (then `imported` says what)."""

    id: str
    trained_model_id: str | None
    created_at: datetime
    active: bool
    source: str
    # A default of None on a non-null type: the key is absent for a trained version (routes exclude unset fields).
    imported: dict[str, Any] = Field(None, description="imported versions only: what was recorded at import")
    retrained_from: dict[str, Any] = Field(
        None, description="retrained versions only: {saved_model_id, version_id, trained_model_id} it retrained"
    )


class SavedModelOut(BaseModel):
    """A saved model with its versions and the active one."""

    id: int
    name: str
    project_key: str | None
    active_version: str | None
    created_at: datetime
    versions: list[VersionOut]


class VersionLocationOut(LocationOut):
    """Where one version's file lives."""

    version_id: str


class VersionPredictionOut(PredictionOut):
    """Predictions of one version of a saved model."""

    version_id: str
