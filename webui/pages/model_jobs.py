"""Pages: a saved model's work on whole datasets (api.md "Batch jobs") — the forms that score, evaluate and
retrain it, an evaluation's page, and a project's jobs page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog import as_test_metric
from server.api.deps import DbDep, SettingsDep
from server.errors import ApiError, invalid
from server.models import Dataset, SavedModel
from server.services import access, evaluations, jobs, projects, registry, retrain, thresholds, trained_models
from server.settings import Settings
from webui.web import CsrfForm, PageRoute, PageUser, form_str, redirect, render

router = APIRouter(route_class=PageRoute)
PROJECT_JOBS_SHOWN = 200  # the project's jobs page lists its newest jobs (GET /projects/{key}/jobs pages them all)


def _dataset_id(form: Any, what: str) -> int:
    """The form's picked dataset id; 422 asking for one when none is."""
    value = form_str(form, "dataset_id")
    if not value.isdigit():
        raise invalid(f"Pick a dataset to {what}.", code="missing_dataset")
    return int(value)


@router.post("/saved-models/{saved_model_id}/score")
def score_dataset(saved_model_id: int, form: CsrfForm, db: DbDep, user: PageUser, settings: SettingsDep) -> Response:
    """Score a whole dataset with the active version, as a job listed on the page (POST …/score of the API)."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    job = jobs.submit(db, settings, user, saved, _dataset_id(form, "score"), None, "score", bool(form.get("use_gpu")))
    return redirect(f"/saved-models/{saved.id}?scoring={job.id}#jobs")


@router.post("/saved-models/{saved_model_id}/evaluate")
def evaluate_dataset(saved_model_id: int, form: CsrfForm, db: DbDep, user: PageUser, settings: SettingsDep) -> Response:
    """Evaluate the active version on a labelled dataset, as a job listed on the page (POST …/evaluate)."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    dataset_id = _dataset_id(form, "evaluate on")
    job = jobs.submit(db, settings, user, saved, dataset_id, None, "evaluate", bool(form.get("use_gpu")))
    return redirect(f"/saved-models/{saved.id}?evaluating={job.id}#jobs")


@router.post("/saved-models/{saved_model_id}/retrain")
def retrain_model(saved_model_id: int, form: CsrfForm, db: DbDep, user: PageUser) -> Response:
    """Train the active version's design again (on the picked dataset, or its own): the new session's results."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    picked = form_str(form, "dataset_id")
    session = retrain.submit(db, user, saved, int(picked) if picked.isdigit() else None, bool(form.get("activate")))
    return redirect(f"/ml-tasks/{session.ml_task_id}?session={session.id}")


def names_of(db: Session, job_rows: list[dict[str, Any]], with_models: bool) -> dict[str, dict[int, str]]:
    """The names of the datasets (and WITH_MODELS, the saved models) JOB_ROWS used and made, by id: one query
    each, none without jobs."""
    ids = {r["dataset_id"] for r in job_rows} - {None}
    models = {r["saved_model_id"] for r in job_rows} - {None}
    names: dict[str, dict[int, str]] = {"datasets": {}, "saved_models": {}}
    if ids:
        names["datasets"] = dict(db.execute(select(Dataset.id, Dataset.name).where(Dataset.id.in_(ids))).all())
    if with_models and models:
        query = select(SavedModel.id, SavedModel.name).where(SavedModel.id.in_(models))
        names["saved_models"] = dict(db.execute(query).all())
    return names


@router.get("/projects/{key}/jobs", response_class=HTMLResponse)
def project_jobs(key: str, request: Request, db: DbDep, user: PageUser) -> Response:
    """The project's jobs, newest first, with live progress and abort."""
    project = access.project(db, user, key)
    rows = jobs.of_project(db, project)
    shown = [jobs.as_dict(j) for j in rows[:PROJECT_JOBS_SHOWN]]
    context = {
        "project": project,
        "jobs": shown,
        "more": max(0, len(rows) - PROJECT_JOBS_SHOWN),
        "names": names_of(db, shown, with_models=True),
        "can_write": access.rights(db, user, project).can_write,  # type: ignore[arg-type]
    }
    return render(request, "jobs.html", context)


def evaluation_rows(db: Session, saved: SavedModel, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SAVED's evaluations, newest first, each with its version's optimisation metric: the value on the evaluated
    dataset beside the value on the validation split it was trained with."""
    trained = {e["version"].version_id: (e["metric"], e["value"]) for e in versions}
    rows = []
    for row in evaluations.of_saved_model(db, saved):
        metric, validation = trained.get(row.version_id, ("", None))
        rows.append(
            {
                **evaluations.as_dict(row, charts=False),
                "metric": metric,
                "value": (row.metrics or {}).get(metric),
                "validation": validation,
            }
        )
    return rows


def chart_points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evaluations chart's points, oldest first: {id, version, metric, when (ISO 8601), value, validation}."""
    keys = ("id", "version_id", "metric", "value", "validation", "dataset_name")
    return [{**{k: row[k] for k in keys}, "when": row["created_at"].isoformat()} for row in reversed(rows)]


def trained_metrics(db: Session, settings: Settings, saved: SavedModel, version_id: str) -> dict[str, Any]:
    """What VERSION_ID of SAVED was trained with: {metric, values, model_id, threshold} (the threshold it scores
    with); {} once the version is deleted, and no metrics once its trained model is."""
    try:
        version = registry.version_of(db, saved, version_id)
    except ApiError:
        return {}
    model = trained_models.by_ids(db, [version.trained_model_id]).get(version.trained_model_id)
    threshold = thresholds.read(settings.artifacts / version.path)
    if model is None:
        return {"threshold": threshold}
    return {"metric": model.metric, "values": model.metrics or {}, "model_id": model.id, "threshold": threshold}


@router.get("/evaluations/{evaluation_id}", response_class=HTMLResponse)
def evaluation_page(evaluation_id: int, request: Request, db: DbDep, user: PageUser, settings: SettingsDep) -> Response:
    """One evaluation: its metrics beside the version's validation metrics, and its charts."""
    row = evaluations.get(db, user, evaluation_id)
    saved = db.get(SavedModel, row.saved_model_id)
    trained = trained_metrics(db, settings, saved, row.version_id) if saved else {}
    context = {
        "project": projects.get(db, row.project_id),
        "saved": saved,
        "row": evaluations.as_dict(row, charts=False),
        "evaluation": row.charts or None,
        "trained": trained,
        "metric_rows": [
            {"name": name, "value": value, "validation": trained.get("values", {}).get(as_test_metric(name))}
            for name, value in (row.metrics or {}).items()
        ],
        "threshold": trained.get("threshold", thresholds.DEFAULT_THRESHOLD),
    }
    return render(request, "evaluation.html", context)
