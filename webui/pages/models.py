"""Pages: a trained model (metrics, charts, evaluation, frozen code, location, deploy) and a saved model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import DbDep, SettingsDep
from server.errors import ApiError, invalid
from server.models import TrainedModel
from server.services import (
    access,
    jobs,
    model_summary,
    projects,
    registry,
    saved_model_versions,
    thresholds,
    trained_models,
)
from server.settings import Settings
from webui import model_graph
from webui.design import TABS
from webui.pages import model_jobs
from webui.web import CsrfForm, PageRoute, PageUser, form_str, redirect, render

router = APIRouter(route_class=PageRoute)
CELL_TITLES = dict(TABS)  # a frozen cell is titled as its design tab


@router.get("/trained-models/{tmid}", response_class=HTMLResponse)
def trained_model_page(
    tmid: str,
    request: Request,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Metrics, per-epoch charts, evaluation, the frozen code and its submitter, location, deploy."""
    model = access.trained_model(db, user, tmid)
    project = projects.get(db, model.project_id)
    session = model.session
    rows, other = trained_models.metrics_table(model.metrics or {})
    summary, summary_error = _summary(settings, model)
    context = {
        "project": project,
        "task": session.ml_task,
        "analysis": session.ml_task.analysis,
        "model": model,
        "session": session,
        "submitter": (session.design or {}).get("submitted_by", "—"),
        "metric_rows": rows,
        "log_rows": keras_log_rows(other),
        "score": trained_models.score(model),
        "summary": summary,
        "summary_error": summary_error,
        "graph": model_graph.layout(summary) if summary else None,
        "evaluation": trained_models.evaluation_of(settings, model),
        "threshold": thresholds.read(settings.artifacts / model.path),  # binary models' decision threshold
        "prep_report": trained_models.preprocessing_report(model),
        "cells": [(cell, CELL_TITLES[cell], code) for cell, code in trained_models.frozen_cells(model)],
        "location": trained_models.location(settings, model),
        "snippet": trained_models.load_snippet(model, session.number),
        "saved_models": registry.of_project(db, project),  # type: ignore[arg-type]
        "deployed": trained_models.deployments(db, model),
        "can_write": access.rights(db, user, project).can_write,  # type: ignore[arg-type]
    }
    return render(request, "trained_model.html", context)


def _summary(settings: Settings, model: TrainedModel) -> tuple[dict[str, Any] | None, str | None]:
    """The model's layer summary, or why there is none (a model that needs user code, a missing file)."""
    try:
        return model_summary.of(settings, model), None
    except ApiError as exc:
        return None, exc.detail


def keras_log_rows(logs: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows {name, validation, train, both} of Keras's own logs: `val_loss` beside `loss`, in the Validation column.

    A log with no validation twin and no `val_` prefix (a learning rate) is neither: `both` spans the two columns.
    """
    rows: list[dict[str, Any]] = []
    for key, value in logs.items():
        if key.startswith("val_"):
            if key[4:] not in logs:
                rows.append({"name": key[4:], "validation": value, "train": None, "both": False})
            continue
        twin = f"val_{key}"
        rows.append({"name": key, "validation": logs.get(twin), "train": value, "both": twin not in logs})
    return rows


@router.post("/trained-models/{tmid}/deploy")
def deploy(
    tmid: str,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Deploy as a new saved model or as a new version of an existing one."""
    model = access.trained_model(db, user, tmid, "writer")
    target = form_str(form, "saved_model_id")
    saved_id = int(target) if target.isdigit() else None
    name = form_str(form, "saved_model_name").strip() or None
    if saved_id is None and not name:
        raise invalid("Name the new saved model, or pick an existing one.", code="missing_saved_model")
    version = registry.deploy(
        db,
        settings,
        user,
        model,
        saved_id,
        None if saved_id else name,
        form_str(form, "version_id").strip() or None,
        bool(form.get("activate")),
    )
    db.commit()
    return redirect(f"/saved-models/{version.saved_model_id}?deployed={version.version_id}")


@router.get("/saved-models/{saved_model_id}", response_class=HTMLResponse)
def saved_model_page(
    saved_model_id: int,
    request: Request,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
    deployed: str | None = None,
    scoring: int | None = None,
    evaluating: int | None = None,
) -> Response:
    """Versions with their metrics, the active one, locations and snippets, a "try it" scoring form, the forms
    that score, evaluate and retrain it on a dataset, its jobs and its evaluations."""
    saved = access.saved_model(db, user, saved_model_id)
    project = projects.get(db, saved.project_id)
    entries = saved_model_versions.entries(db, settings, saved)
    active = next((e for e in entries if e["active"]), None)
    evaluated = model_jobs.evaluation_rows(db, saved, entries)
    job_rows = [jobs.as_dict(j) for j in jobs.of_saved_model(db, saved)]
    context = {
        "project": project,
        "saved": saved,
        "entries": entries,
        "active": active,
        "fields": trained_models.input_fields(db, settings, active["model"]) if active and active["model"] else [],
        "deployed": deployed,
        "scoring": scoring,
        "evaluating": evaluating,
        "can_write": access.rights(db, user, project).can_write,  # type: ignore[arg-type]
        "jobs": job_rows,
        "names": model_jobs.names_of(db, job_rows, with_models=False),
        "evaluations": evaluated,
        "evaluations_chart": model_jobs.chart_points(evaluated),
    }
    return render(request, "saved_model.html", context)


@router.post("/saved-models/{saved_model_id}/active-version")
def make_active(
    saved_model_id: int,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
) -> Response:
    """Make a version the active one."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    registry.set_active(db, user, saved, form_str(form, "version_id"))
    db.commit()
    return redirect(f"/saved-models/{saved.id}")
