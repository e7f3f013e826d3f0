"""Pages: create an analysis, an analysis with its ML tasks, and the "new ML task" flow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.catalog import PREDICTION_TYPES
from server.api.deps import settings_dep
from server.db import get_db
from server.errors import ApiError, invalid
from server.models import MLTask, TrainingSession, User
from server.services import access, analyses, auth, datasets, mltasks
from server.services.inference import infer_prediction_type
from server.settings import Settings
from webui.web import PageRoute, csrf_form, form_str, page_user, redirect, render

router = APIRouter(route_class=PageRoute)


@router.post("/projects/{key}/analyses", response_class=HTMLResponse)
def create_analysis(
    key: str,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
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
def analysis_page(
    analysis_id: str, request: Request, db: Session = Depends(get_db), user: User = Depends(page_user)
) -> Response:
    """An analysis: its ML tasks and the form to create one."""
    return _analysis(request, db, user, analysis_id)


def _analysis(
    request: Request, db: Session, user: User, analysis_id: str, error: ApiError | None = None, form: Any = None
) -> Response:
    analysis = access.analysis(db, user, analysis_id)
    role = auth.role_in(db, user, analysis.project)
    tasks = mltasks.of_analysis(db, analysis)
    counts = dict(
        db.execute(
            select(TrainingSession.ml_task_id, func.count(TrainingSession.id))
            .join(MLTask, TrainingSession.ml_task_id == MLTask.id)
            .where(MLTask.analysis_id == analysis.id)
            .group_by(TrainingSession.ml_task_id)
        ).all()
    )
    dataset = analysis.dataset
    context = {
        "project": analysis.project,
        "analysis": analysis,
        "dataset": dataset,
        "targets": [c for c in dataset.columns if c["type"] != "image"],
        "tasks": [{"row": t, "sessions": counts.get(t.id, 0)} for t in tasks],
        "prediction_types": PREDICTION_TYPES,
        "can_write": role in ("writer", "admin"),
        "error": error,
        "form": form or {},
    }
    return render(request, "analysis.html", context, status_code=error.status if error else 200)


@router.get("/analyses/{analysis_id}/propose")
def propose_prediction_type(
    analysis_id: str,
    target: str,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """The prediction type the service would infer for TARGET (the page preselects it)."""
    analysis = access.analysis(db, user, analysis_id)
    columns = {c["name"]: c for c in analysis.dataset.columns}
    if target not in columns or columns[target]["type"] == "image":
        raise invalid(f"{target!r} is not a column that can be a target.", code="unknown_column")
    values = datasets.load_frame(settings, analysis.dataset, columns=[target])[target]
    proposed = infer_prediction_type(values, columns[target]["type"])
    return {"target": target, "prediction_type": proposed, "n_distinct": int(values.nunique(dropna=True))}


@router.post("/analyses/{analysis_id}/ml-tasks", response_class=HTMLResponse)
def create_ml_task(
    analysis_id: str,
    request: Request,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Create an ML task (prediction type as picked, or inferred) and open its design."""
    analysis = access.analysis(db, user, analysis_id, "writer")
    target = form_str(form, "target")
    ptype = form_str(form, "prediction_type") or None
    try:
        task = mltasks.create(db, settings, user, analysis, target, ptype, form_str(form, "name") or None)
        db.commit()
    except ApiError as exc:
        db.rollback()
        return _analysis(request, db, user, analysis_id, exc, {"target": target, "prediction_type": ptype})
    return redirect(f"/ml-tasks/{task.id}/design")
