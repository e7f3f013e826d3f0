"""Routes: analyses and their ML tasks, settings, validation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Response
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User
from server.schemas.requests import AnalysisCreate, MLTaskCreate
from server.services import access, analyses, mltasks
from server.settings import Settings

router = APIRouter(tags=["analyses"])


@router.post("/projects/{key}/analyses", status_code=201)
def create_analysis(
    key: str, body: AnalysisCreate, db: Session = Depends(get_db), user: User = Depends(current_user)
) -> dict[str, Any]:
    """Create an analysis on a dataset of the project."""
    project = access.project(db, user, key, "writer")
    row = analyses.create(db, user, project, body.dataset_id, body.name)
    db.commit()
    return analyses.as_dict(row)


@router.get("/projects/{key}/analyses")
def list_analyses(key: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """The project's analyses."""
    project = access.project(db, user, key)
    return [analyses.as_dict(a) for a in analyses.of_project(db, project)]


@router.get("/analyses/{analysis_id}")
def get_analysis(analysis_id: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> dict[str, Any]:
    """One analysis."""
    return analyses.as_dict(access.analysis(db, user, analysis_id))


@router.delete("/analyses/{analysis_id}", status_code=204)
def delete_analysis(
    analysis_id: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete an analysis with its ML tasks, sessions and trained models (admins; 409 while in use)."""
    analysis = access.analysis(db, user, analysis_id, "admin")
    analyses.delete(db, settings, user, analysis)
    db.commit()
    return Response(status_code=204)


@router.post("/analyses/{analysis_id}/ml-tasks", status_code=201)
def create_ml_task(
    analysis_id: str,
    body: MLTaskCreate,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Create an ML task with generated default settings and code."""
    analysis = access.analysis(db, user, analysis_id, "writer")
    task = mltasks.create(db, settings, user, analysis, body.target, body.prediction_type, body.name)
    db.commit()
    return mltasks.as_dict(task)


@router.get("/analyses/{analysis_id}/ml-tasks")
def list_ml_tasks(
    analysis_id: str, db: Session = Depends(get_db), user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    """The analysis's ML tasks."""
    analysis = access.analysis(db, user, analysis_id)
    return [mltasks.as_dict(t) for t in mltasks.of_analysis(db, analysis)]


@router.get("/ml-tasks/{mltask_id}")
def get_ml_task(mltask_id: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> dict[str, Any]:
    """One ML task with its settings."""
    return mltasks.as_dict(access.ml_task(db, user, mltask_id))


@router.get("/ml-tasks/{mltask_id}/settings")
def get_settings_doc(
    mltask_id: str, db: Session = Depends(get_db), user: User = Depends(current_user)
) -> dict[str, Any]:
    """The ML task's settings (every key present)."""
    return access.ml_task(db, user, mltask_id).settings


@router.put("/ml-tasks/{mltask_id}/settings")
def put_settings_doc(
    mltask_id: str,
    body: Any = Body(...),
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Replace the settings (keys left out keep their value); 422 with every error found."""
    task = access.ml_task(db, user, mltask_id, "writer")
    mltasks.update_settings(db, user, task, body)
    db.commit()
    return task.settings


@router.post("/ml-tasks/{mltask_id}/validate")
def validate_settings(
    mltask_id: str,
    body: Any = Body(None),
    dry_run: bool = False,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Static checks of the given (or the stored) settings; ?dry_run=true also runs one batch in a worker."""
    task = access.ml_task(db, user, mltask_id, "writer" if dry_run else "reader")
    doc, errors = mltasks.validate_settings(task, body if body is not None else {})
    result: dict[str, Any] = {"ok": not errors, "errors": errors}
    if dry_run and doc is not None:
        from server.services import dry_run as dry

        result.update(dry.run(db, settings, user, task, doc))
        result["ok"] = not result["errors"]
    return result
