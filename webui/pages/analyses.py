"""Pages: create an analysis, an analysis with its ML tasks, and the "new ML task" flow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.catalog import PREDICTION_TYPES
from server.api.deps import DbDep, SettingsDep
from server.errors import ApiError, invalid
from server.models import User
from server.services import access, analyses, deletes, mltasks
from webui.web import CsrfForm, PageRoute, PageUser, commit_or_show, form_str, redirect, render

router = APIRouter(route_class=PageRoute)


@router.post("/projects/{key}/analyses", response_class=HTMLResponse)
def create_analysis(
    key: str,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
) -> Response:
    """Create an analysis on one of the project's datasets."""
    project = access.project(db, user, key, "writer")
    raw_id = form_str(form, "dataset_id")
    if not raw_id.isdigit():
        raise invalid("Pick the dataset the analysis works on.", code="unknown_dataset")
    row = analyses.create(db, user, project, int(raw_id), form_str(form, "name"))
    db.commit()
    return redirect(f"/analyses/{row.id}")


@router.get("/analyses/{analysis_id}", response_class=HTMLResponse)
def analysis_page(analysis_id: str, request: Request, db: DbDep, user: PageUser) -> Response:
    """An analysis: its ML tasks and the form to create one."""
    return _analysis(request, db, user, analysis_id)


def _analysis(
    request: Request, db: Session, user: User, analysis_id: str, error: ApiError | None = None, form: Any = None
) -> Response:
    analysis = access.analysis(db, user, analysis_id)
    counts = mltasks.session_counts(db, analysis)
    tasks = mltasks.of_analysis(db, analysis)
    impacts = deletes.task_impacts(db, tasks)  # what each Delete dialog says goes with it
    context = {
        "project": analysis.project,
        "analysis": analysis,
        "dataset": analysis.dataset,
        "targets": mltasks.target_columns(analysis.dataset),
        "tasks": [{"row": t, "sessions": counts.get(t.id, 0), "goes": deletes.describe(impacts[t.id])} for t in tasks],
        "goes": deletes.describe(deletes.analysis_impact(db, analysis)),
        "prediction_types": PREDICTION_TYPES,
        "can_write": access.rights(db, user, analysis.project).can_write,
        "error": error,
        "form": form or {},
    }
    return render(request, "analysis.html", context, status_code=error.status if error else 200)


@router.get("/analyses/{analysis_id}/propose")
def propose_prediction_type(
    analysis_id: str,
    target: str,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The prediction type the service would infer for TARGET (the page preselects it)."""
    analysis = access.analysis(db, user, analysis_id)
    return mltasks.propose_prediction_type(settings, analysis, target)


@router.post("/analyses/{analysis_id}/ml-tasks", response_class=HTMLResponse)
def create_ml_task(
    analysis_id: str,
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Create an ML task (prediction type as picked, or inferred) and open its design."""
    analysis = access.analysis(db, user, analysis_id, "writer")
    target = form_str(form, "target")
    ptype = form_str(form, "prediction_type") or None
    return commit_or_show(
        db,
        lambda: mltasks.create(db, settings, user, analysis, target, ptype, form_str(form, "name") or None),
        lambda task: f"/ml-tasks/{task.id}/design",
        lambda exc: _analysis(request, db, user, analysis_id, exc, {"target": target, "prediction_type": ptype}),
    )
