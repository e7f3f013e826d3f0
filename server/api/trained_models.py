"""Routes: trained models (ids, details, location, download)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User
from server.services import access, trained_models
from server.settings import Settings

router = APIRouter(tags=["trained models"])


@router.get("/ml-tasks/{mltask_id}/trained-models")
def list_trained_models(mltask_id: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[str]:
    """The ids of the ML task's trained models."""
    return trained_models.ids_of_task(db, access.ml_task(db, user, mltask_id))


@router.get("/trained-models/{tmid}")
def get_trained_model(
    tmid: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """A trained model's metrics, history, shapes, classes and location."""
    return trained_models.as_dict(settings, access.trained_model(db, user, tmid))


@router.get("/trained-models/{tmid}/location")
def get_location(
    tmid: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Where the model file lives: path, file:// URI and download URL."""
    return trained_models.location(settings, access.trained_model(db, user, tmid))


@router.get("/trained-models/{tmid}/download")
def download(
    tmid: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> FileResponse:
    """The .keras file."""
    model = access.trained_model(db, user, tmid)
    path = trained_models.file_path(settings, model)
    return FileResponse(path, media_type="application/octet-stream", filename=f"{model.id}.keras")
