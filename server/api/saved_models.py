"""Routes: saved models, their versions, locations, downloads, scoring and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from server.api import uploads
from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.api.responses import BINARY_FILE, binary_file
from server.models import Project, SavedModel, SavedModelVersion, User
from server.schemas.jobs import JobOut, ScoreRequest
from server.schemas.requests import ActiveVersion, PredictRequest
from server.schemas.retrain import RetrainRequest
from server.schemas.saved_models import SavedModelOut, VersionLocationOut, VersionPredictionOut
from server.schemas.sessions import SessionOut
from server.services import access, export, jobs, model_import, predictions, registry, retrain, sessions
from server.settings import Settings

router = APIRouter(tags=["saved models"])
VersionQuery = Annotated[str | None, Query(max_length=64)]  # ?version= (the active version when left out)


def _version(db: Session, user: User, saved_model_id: int, version: str | None) -> tuple[SavedModel, SavedModelVersion]:
    saved = access.saved_model(db, user, saved_model_id)
    return saved, registry.version_of(db, saved, version)


# Saved-model answers exclude unset keys: an imported version carries an `imported` key, the others none.
@router.get("/projects/{key}/saved-models", response_model=list[SavedModelOut], response_model_exclude_unset=True)
def list_saved_models(
    key: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """The project's saved models, oldest first (`limit`/`cursor` pages)."""
    project = access.project(db, user, key)
    rows = paginate(request, response, registry.of_project(db, project), page, lambda s: (s.id,))
    return [registry.as_dict(db, s) for s in rows]


@router.get("/saved-models/{saved_model_id}", response_model=SavedModelOut, response_model_exclude_unset=True)
def get_saved_model(saved_model_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """A saved model with its versions and the active one."""
    return registry.as_dict(db, access.saved_model(db, user, saved_model_id))


@router.post(
    "/saved-models/{saved_model_id}/active-version", response_model=SavedModelOut, response_model_exclude_unset=True
)
def set_active_version(saved_model_id: int, body: ActiveVersion, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Switch the active version (a revert is just this)."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    registry.set_active(db, user, saved, body.version_id)
    db.commit()
    return registry.as_dict(db, saved)


@router.get("/saved-models/{saved_model_id}/location", response_model=VersionLocationOut)
def saved_location(saved_model_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Where the active version's file lives."""
    saved, version = _version(db, user, saved_model_id, None)
    return registry.location(settings, saved, version)


@router.get("/saved-models/{saved_model_id}/versions/{version_id}/location", response_model=VersionLocationOut)
def version_location(
    saved_model_id: int, version_id: str, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    """Where one version's file lives."""
    saved, version = _version(db, user, saved_model_id, version_id)
    return registry.location(settings, saved, version)


@router.get("/saved-models/{saved_model_id}/download", response_class=FileResponse, responses=BINARY_FILE)
def download(
    saved_model_id: int,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: VersionQuery = None,
) -> FileResponse:
    """The .keras file of the active version (or ?version=)."""
    saved, row = _version(db, user, saved_model_id, version)
    path = registry.file_path(settings, row)
    return FileResponse(path, media_type="application/octet-stream", filename=f"{saved.name}-{row.version_id}.keras")


@router.post(
    "/saved-models/{saved_model_id}/predict", response_model=VersionPredictionOut, response_model_exclude_unset=True
)
def predict(
    saved_model_id: int,
    body: PredictRequest,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: VersionQuery = None,
) -> dict[str, Any]:
    """Score rows with the active version (or ?version=); 409 for an imported one (it has no preprocessing)."""
    saved, row = _version(db, user, saved_model_id, version)
    return predictions.with_version(db, settings, saved, row, body.rows)


@router.post("/saved-models/{saved_model_id}/score", status_code=202, response_model=JobOut)
def score_dataset(
    saved_model_id: int, body: ScoreRequest, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    """Score a whole dataset with the active version (or `version`) as a worker job (writers); 422 names the
    input columns the dataset lacks."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    return jobs.as_dict(jobs.submit(db, settings, user, saved, body.dataset_id, body.version, "score", body.use_gpu))


@router.post("/saved-models/{saved_model_id}/retrain", status_code=202, response_model=SessionOut)
def retrain_saved_model(saved_model_id: int, body: RetrainRequest, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Train the active version's frozen design again as a new session (writers), on `dataset_id` or its own
    dataset; its success becomes a new version (activated when `activate`). 422 names the columns the dataset
    lacks; 409 no_design for an imported version."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    return sessions.as_dict(retrain.submit(db, user, saved, body.dataset_id, body.activate))


@router.get(
    "/saved-models/{saved_model_id}/export",
    response_class=FileResponse,
    responses=binary_file("application/zip", "application/octet-stream"),
)
def export_model(
    saved_model_id: int,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
    format: str = Query("savedmodel", max_length=16),
    version: VersionQuery = None,
) -> FileResponse:
    """The version as a zipped SavedModel or an .onnx file (made in a worker's sandbox when it needs its code)."""
    saved, row = _version(db, user, saved_model_id, version)
    path = export.of_version(db, settings, row, format)
    media = "application/zip" if format == "savedmodel" else "application/octet-stream"
    return FileResponse(path, media_type=media, filename=f"{saved.name}-{row.version_id}-{path.name}")


@router.delete("/saved-models/{saved_model_id}", status_code=204)
def delete_saved_model(saved_model_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete a saved model with all its versions and files (admins)."""
    saved = access.saved_model(db, user, saved_model_id, "admin")
    registry.delete_saved_model(db, settings, user, saved)
    db.commit()
    return Response(status_code=204)


@router.delete("/saved-models/{saved_model_id}/versions/{version_id}", status_code=204)
def delete_version(
    saved_model_id: int, version_id: str, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """Delete a version that is not active (409 for the active one)."""
    saved = access.saved_model(db, user, saved_model_id, "admin")
    registry.delete_version(db, settings, user, saved, version_id)
    db.commit()
    return Response(status_code=204)


IMPORT_BODY = uploads.named_file_body("ModelImport", "A Keras 3 .keras file (or a legacy .h5) of built-in layers only.")


def _import(
    db: Session, settings: Settings, project: Project, user: User, name: str, filename: str, tmp: Path
) -> dict[str, Any]:
    saved = model_import.import_file(db, settings, project, user, name, filename, tmp)
    db.commit()
    return registry.as_dict(db, saved, settings)


@router.post(
    "/projects/{key}/saved-models/import",
    status_code=201,
    openapi_extra={"requestBody": IMPORT_BODY},
    response_model=SavedModelOut,
    response_model_exclude_unset=True,
)
async def import_model(
    key: str, request: Request, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    """Import a model trained elsewhere (multipart name, file) as version v1 of a new saved model (data.md)."""
    project = access.project(db, user, key, "writer")
    # Checking the model starts a Python process that loads it: seconds, off the event loop.
    return await uploads.receive_named_file(
        request,
        settings,
        model_import.suffix_of,
        lambda name, filename, tmp: _import(db, settings, project, user, name, filename, tmp),
        "Storing the model",
    )
