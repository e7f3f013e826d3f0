"""Resolve a code cell's model request to a file path, with the submitting user's read permission."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.models import Project, SavedModel, TrainedModel
from server.services import access, auth, model_import, registry
from server.services.ids import parse_session_ref
from server.settings import Settings
from worker import state


def _denied(what: str) -> dict[str, Any]:
    # Same answer for "does not exist" and "not yours": nothing about other projects leaks.
    return {"ok": False, "error": f"{what} does not exist or the submitter of this training cannot read it"}


def _trained(
    db: Session, settings: Settings, user: Any, design: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    mltask_id = request.get("mltask_id") or design["ml_task_id"]
    analysis_id = request.get("analysis_id") or (design["analysis_id"] if not request.get("mltask_id") else None)
    label = f"ML task {mltask_id!r}"
    try:
        task = access.ml_task(db, user, str(mltask_id))
    except ApiError:
        return _denied(label)
    if analysis_id and task.analysis_id != analysis_id:
        return _denied(f"ML task {mltask_id!r} of analysis {analysis_id!r}")
    query = select(TrainedModel).where(TrainedModel.ml_task_id == task.id)
    if request.get("session_id") is not None:
        try:
            number = parse_session_ref(request["session_id"])
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        query = query.where(TrainedModel.id.like(f"%-s{number}-pp1-m1"))
        label = f"session s{number} of {label}"
    model = db.scalar(query.order_by(TrainedModel.created_at.desc()).limit(1))
    if model is None:
        return {"ok": False, "error": f"{label} has no trained model"}
    return {
        "ok": True,
        "path": str(settings.artifacts / model.path),
        "kind": "trained_model",
        "id": model.id,
        "version_id": None,
        "trained_model_id": model.id,
    }


def _saved(
    db: Session, settings: Settings, user: Any, design: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    ref = request.get("saved_model_id")
    saved: SavedModel | None = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        saved = db.get(SavedModel, int(ref))
    elif isinstance(ref, str) and ref.strip():
        project = db.scalar(select(Project).where(Project.key == design["project_key"]))
        saved = db.scalar(select(SavedModel).where(SavedModel.project_id == project.id, SavedModel.name == ref.strip()))
    label = f"saved model {ref!r}"
    if saved is None:
        return _denied(label)
    try:
        access.saved_model(db, user, saved.id)
        version = registry.version_of(db, saved, request.get("version_id"))
    except ApiError:
        return _denied(f"{label} version {request.get('version_id') or 'active'}")
    return {
        "ok": True,
        "path": str(settings.artifacts / version.path),
        "kind": "saved_model",
        "id": saved.id,
        "version_id": version.version_id,
        "trained_model_id": None if model_import.is_imported(version) else version.trained_model_id,
    }


def resolve(settings: Settings, design: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Answer a 'model_location' request of the training whose frozen design is DESIGN."""

    def _do(db: Session) -> dict[str, Any]:
        user = auth.get_user(db, design.get("submitted_by") or "")
        if user is None:
            return {"ok": False, "error": "the submitter of this training no longer exists"}
        if request.get("source") == "trained":
            return _trained(db, settings, user, design, request)
        if request.get("source") == "saved":
            return _saved(db, settings, user, design, request)
        return {"ok": False, "error": f"unknown model source {request.get('source')!r}"}

    return state.with_retry(_do, "resolve model")
