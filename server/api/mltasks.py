"""Routes: ML tasks, their settings, validation and dry runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.schemas.mltasks import DefaultCodeOut, DryRunOut, DryRunPending, MLTaskOut, ValidationOut
from server.schemas.requests import MLTaskCreate
from server.services import access, architecture_inputs, deletes, mltasks, validation
from server.services import dry_run as dry

router = APIRouter(tags=["ml tasks"])


@router.post("/analyses/{analysis_id}/ml-tasks", status_code=201, response_model=MLTaskOut)
def create_ml_task(
    analysis_id: str, body: MLTaskCreate, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    """Create an ML task with generated default settings and code."""
    analysis = access.analysis(db, user, analysis_id, "writer")
    task = mltasks.create(db, settings, user, analysis, body.target, body.prediction_type, body.name)
    db.commit()
    return mltasks.as_dict(task)


@router.get("/analyses/{analysis_id}/ml-tasks", response_model=list[MLTaskOut])
def list_ml_tasks(
    analysis_id: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """The analysis's ML tasks, oldest first (`limit`/`cursor` pages)."""
    analysis = access.analysis(db, user, analysis_id)
    rows = paginate(request, response, mltasks.of_analysis(db, analysis), page, lambda t: (t.created_at, t.id))
    return [mltasks.as_dict(t) for t in rows]


@router.get("/ml-tasks/{mltask_id}", response_model=MLTaskOut)
def get_ml_task(mltask_id: str, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """One ML task with its settings."""
    return mltasks.as_dict(access.ml_task(db, user, mltask_id))


@router.get("/ml-tasks/{mltask_id}/settings")
def get_settings_doc(mltask_id: str, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """The ML task's settings (every key present)."""
    return access.ml_task(db, user, mltask_id).settings


@router.put("/ml-tasks/{mltask_id}/settings")
def put_settings_doc(mltask_id: str, db: DbDep, user: CurrentUser, body: Any = Body(...)) -> dict[str, Any]:
    """Replace the settings (keys left out keep their value); 422 with every error found."""
    task = access.ml_task(db, user, mltask_id, "writer")
    mltasks.update_settings(db, user, task, body)
    db.commit()
    return task.settings


@router.get("/ml-tasks/{mltask_id}/default-code", response_model=DefaultCodeOut)
def get_default_code(mltask_id: str, db: DbDep, user: CurrentUser) -> dict[str, str]:
    """Each code cell's generated default for the task's current inputs (what "Reset to default" puts back)."""
    task = access.ml_task(db, user, mltask_id)
    return architecture_inputs.default_cells(task.prediction_type, task.settings.get("features") or {})


_DRY_RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": DryRunPending,
        "description": "The dry run did not end within FITSTUDIO_DRY_RUN_WAIT_S: poll `poll_url`",
    },
    429: {"description": "too_many_dry_runs: the caller already waits for FITSTUDIO_DRY_RUN_MAX_PER_USER"},
    503: {"description": "too_many_dry_runs: the process already waits for FITSTUDIO_DRY_RUN_MAX_WAITING"},
}


@router.post(
    "/ml-tasks/{mltask_id}/validate",
    response_model=ValidationOut,
    response_model_exclude_unset=True,
    responses=_DRY_RUN_RESPONSES,
)
async def validate_settings(
    mltask_id: str,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
    body: Any = Body(None),
    dry_run: bool = False,
) -> Any:
    """Static checks of the given (or the stored) settings; ?dry_run=true also runs one batch in a worker
    (waiting FITSTUDIO_DRY_RUN_WAIT_S at most, then 202 with a `poll_url`)."""
    answer = await validation.validate(db, settings, user, mltask_id, body, dry_run)
    if validation.is_pending(answer):
        headers = {"Location": answer["poll_url"], "Retry-After": "2"}
        return JSONResponse(jsonable_encoder(answer), status_code=202, headers=headers)
    return answer


@router.get("/dry-runs/{dry_run_id}", response_model=DryRunOut, response_model_exclude_unset=True)
def get_dry_run(dry_run_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """A dry run's status and, once `done`, validate's {ok, errors, dry_run} (readers of its project)."""
    return dry.describe(validation.readable_dry_run(db, user, dry_run_id))


@router.delete("/ml-tasks/{mltask_id}", status_code=204)
def delete_ml_task(mltask_id: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete an ML task with its sessions and trained models (admins; 409 while one runs or is deployed)."""
    task = access.ml_task(db, user, mltask_id, "admin")
    deletes.delete_ml_task(db, settings, user, task)
    db.commit()
    return Response(status_code=204)
