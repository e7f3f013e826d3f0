"""Routes: analyses and their ML tasks, settings, validation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.errors import ApiError, not_found
from server.models import DryRun, MLTask, User
from server.schemas.requests import AnalysisCreate, MLTaskCreate
from server.services import access, analyses, mltasks
from server.services.ids import is_sql_int
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


_DRY_RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "The dry run did not end within FITSTUDIO_DRY_RUN_WAIT_S: poll `poll_url`"},
    429: {"description": "too_many_dry_runs: the caller already waits for FITSTUDIO_DRY_RUN_MAX_PER_USER"},
    503: {"description": "too_many_dry_runs: the process already waits for FITSTUDIO_DRY_RUN_MAX_WAITING"},
}


def _static_checks(
    db: Session, user: User, mltask_id: str, body: Any, dry_run: bool
) -> tuple[MLTask, dict[str, Any] | None, list[dict[str, Any]]]:
    task = access.ml_task(db, user, mltask_id, "writer" if dry_run else "reader")
    doc, errors = mltasks.validate_settings(task, body if body is not None else {})
    return task, doc, errors


@router.post("/ml-tasks/{mltask_id}/validate", responses=_DRY_RUN_RESPONSES)
async def validate_settings(
    mltask_id: str,
    body: Any = Body(None),
    dry_run: bool = False,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Any:
    """Static checks of the given (or the stored) settings; ?dry_run=true also runs one batch in a worker
    (waiting FITSTUDIO_DRY_RUN_WAIT_S at most, then 202 with a `poll_url`)."""
    task, doc, errors = await run_in_threadpool(_static_checks, db, user, mltask_id, body, dry_run)
    result: dict[str, Any] = {"ok": not errors, "errors": errors}
    if not (dry_run and doc is not None):
        return result
    from server.services import dry_run as dry

    result.update(await dry.run_async(db, settings, user, task, doc))
    if "poll_url" in result:
        result["ok"] = None
        headers = {"Location": result["poll_url"], "Retry-After": "2"}
        return JSONResponse(jsonable_encoder(result), status_code=202, headers=headers)
    result["ok"] = not result["errors"]
    return result


@router.get("/dry-runs/{dry_run_id}")
def get_dry_run(dry_run_id: int, db: Session = Depends(get_db), user: User = Depends(current_user)) -> dict[str, Any]:
    """A dry run's status and, once `done`, validate's {ok, errors, dry_run} (readers of its project)."""
    from server.services import dry_run as dry

    row = db.get(DryRun, dry_run_id) if is_sql_int(dry_run_id) else None
    try:
        if row is None:
            raise not_found("dry run", dry_run_id)
        access.ml_task(db, user, row.ml_task_id)
    except ApiError as exc:  # another project's dry run looks like none at all
        raise not_found("dry run", dry_run_id) from exc
    return dry.describe(row)
