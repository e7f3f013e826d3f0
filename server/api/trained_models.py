"""Routes: trained models (ids, details, location, download)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User
from server.schemas.requests import DeployRequest, PredictRequest
from server.services import access, model_files, registry, scoring, trained_models
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


@router.post("/trained-models/{tmid}/predict")
def predict(
    tmid: str,
    body: PredictRequest,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Score rows with the model and the preprocessing saved with it."""
    model = access.trained_model(db, user, tmid)
    path = trained_models.file_path(settings, model)
    return scoring.predict(model, path, body.rows, model_files.files_root(db, settings, model))


@router.post("/trained-models/{tmid}/deploy", status_code=201)
def deploy(
    tmid: str,
    body: DeployRequest,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Deploy into a saved model (new, or a new version of an existing one)."""
    model = access.trained_model(db, user, tmid, "writer")
    version = registry.deploy(
        db, settings, user, model, body.saved_model_id, body.saved_model_name, body.version_id, body.activate
    )
    db.commit()
    return {"saved_model_id": version.saved_model_id, "version_id": version.version_id}


@router.delete("/trained-models/{tmid}", status_code=204)
def delete_trained_model(
    tmid: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete a trained model and its file (409 while deployed)."""
    model = access.trained_model(db, user, tmid, "admin")
    registry.delete_trained_model(db, settings, user, model)
    db.commit()
    return Response(status_code=204)
