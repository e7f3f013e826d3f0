"""Routes: trained models (ids, details, location, download, scoring, deployment)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.api.responses import BINARY_FILE
from server.schemas.requests import DeployRequest, PredictRequest
from server.schemas.trained_models import (
    DeployOut,
    LocationOut,
    PredictionOut,
    SummaryOut,
    ThresholdIn,
    ThresholdOut,
    TrainedModelOut,
)
from server.services import access, model_card, model_summary, predictions, registry, thresholds, trained_models

router = APIRouter(tags=["trained models"])


@router.get("/ml-tasks/{mltask_id}/trained-models")
def list_trained_models(
    mltask_id: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[str]:
    """The ids of the ML task's trained models, oldest first (`limit`/`cursor` pages)."""
    rows = trained_models.ids_and_dates_of_task(db, access.ml_task(db, user, mltask_id))
    return [i for i, _at in paginate(request, response, rows, page, lambda r: (r[1], r[0]))]


@router.get("/trained-models/{tmid}", response_model=TrainedModelOut)
def get_trained_model(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """A trained model's metrics, history, shapes, classes and location."""
    return trained_models.as_dict(settings, access.trained_model(db, user, tmid))


@router.get("/trained-models/{tmid}/location", response_model=LocationOut)
def get_location(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Where the model file lives: path, file:// URI and download URL."""
    return trained_models.location(settings, access.trained_model(db, user, tmid))


@router.get("/trained-models/{tmid}/download", response_class=FileResponse, responses=BINARY_FILE)
def download(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> FileResponse:
    """The .keras file."""
    model = access.trained_model(db, user, tmid)
    path = trained_models.file_path(settings, model)
    return FileResponse(path, media_type="application/octet-stream", filename=f"{model.id}.keras")


@router.get("/trained-models/{tmid}/summary", response_model=SummaryOut)
def get_summary(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Layers (name, type, output shape, parameters, trainable) and parameter totals; 409 when it needs user code."""
    return model_summary.of(settings, access.trained_model(db, user, tmid))


@router.get("/trained-models/{tmid}/threshold", response_model=ThresholdOut)
def get_threshold(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """A binary model's decision threshold (0.5 until one is chosen) and its F1-optimal one; 409 for other models."""
    return thresholds.of_model(settings, access.trained_model(db, user, tmid))


@router.put("/trained-models/{tmid}/threshold", response_model=ThresholdOut)
def put_threshold(tmid: str, body: ThresholdIn, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Choose a binary model's decision threshold: its /predict and the versions deployed afterwards use it."""
    model = access.trained_model(db, user, tmid, "writer")
    out = thresholds.set_threshold(db, settings, user, model, body.threshold)
    db.commit()
    return out


@router.get(
    "/trained-models/{tmid}/card",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "text/markdown": {}}}},
)
def get_card(
    tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep, format: Literal["html", "md"] = "html"
) -> Response:
    """The model card: data, features, design and code, metrics and charts, lineage, versions and seeds."""
    card = model_card.render(db, settings, access.trained_model(db, user, tmid), format)
    return Response(card, media_type=model_card.MEDIA_TYPES[format])


@router.post("/trained-models/{tmid}/predict", response_model=PredictionOut, response_model_exclude_unset=True)
def predict(tmid: str, body: PredictRequest, db: DbDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Score rows with the model and the preprocessing saved with it."""
    model = access.trained_model(db, user, tmid)
    return predictions.with_trained_model(db, settings, model, body.rows)


@router.post("/trained-models/{tmid}/deploy", status_code=201)
def deploy(tmid: str, body: DeployRequest, db: DbDep, user: CurrentUser, settings: SettingsDep) -> DeployOut:
    """Deploy into a saved model (new, or a new version of an existing one)."""
    model = access.trained_model(db, user, tmid, "writer")
    version = registry.deploy(
        db, settings, user, model, body.saved_model_id, body.saved_model_name, body.version_id, body.activate
    )
    db.commit()
    return DeployOut(saved_model_id=version.saved_model_id, version_id=version.version_id)


@router.delete("/trained-models/{tmid}", status_code=204)
def delete_trained_model(tmid: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete a trained model and its file (409 while deployed)."""
    model = access.trained_model(db, user, tmid, "admin")
    registry.delete_trained_model(db, settings, user, model)
    db.commit()
    return Response(status_code=204)
