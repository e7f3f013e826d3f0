"""Pages: a trained model (metrics, charts, evaluation, frozen code, location, deploy) and a saved model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core import evaluation
from server.api.deps import settings_dep
from server.db import get_db
from server.errors import ApiError, invalid
from server.models import Analysis, Dataset, Project, SavedModel, SavedModelVersion, TrainedModel, User
from server.services import access, auth, datasets, model_import, registry, trained_models
from server.settings import Settings
from webui.web import PageRoute, csrf_form, form_str, page_user, redirect, render

router = APIRouter(route_class=PageRoute)


def metrics_table(metrics: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows {name, test, train} of the service's metrics, and the other logs (loss, val_loss, …)."""
    names: list[str] = []
    for key in metrics:
        for prefix in ("Test ", "Train "):
            if key.startswith(prefix) and key[len(prefix) :] not in names:
                names.append(key[len(prefix) :])
    rows = [{"name": n, "test": metrics.get(f"Test {n}"), "train": metrics.get(f"Train {n}")} for n in names]
    other = {k: v for k, v in metrics.items() if not k.startswith(("Test ", "Train "))}
    return rows, other


def trained_snippet(model: TrainedModel, number: int) -> str:
    """The code that loads MODEL from another training's code cell."""
    return (
        "from fitstudio.deep_learning.load_model import get_keras_model_from_trained_model\n\n"
        f'model = get_keras_model_from_trained_model(session_id="s{number}", '
        f'analysis_id="{model.analysis_id}", mltask_id="{model.ml_task_id}")'
    )


def saved_snippet(saved: SavedModel, version_id: str) -> str:
    """The code that loads one version of SAVED from a code cell."""
    return (
        "from fitstudio.deep_learning.load_model import get_keras_model_from_saved_model\n\n"
        f'model = get_keras_model_from_saved_model(saved_model_id={saved.id}, version_id="{version_id}")'
    )


@router.get("/trained-models/{tmid}", response_class=HTMLResponse)
def trained_model_page(
    tmid: str,
    request: Request,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Metrics, per-epoch charts, evaluation, the frozen code and its submitter, location, deploy."""
    model = access.trained_model(db, user, tmid)
    project = db.get(Project, model.project_id)
    role = auth.role_in(db, user, project)  # type: ignore[arg-type]
    session = model.session
    design = session.design or {}
    frozen = design.get("settings", {})
    cells = [("architecture", "Architecture")]
    if frozen.get("training", {}).get("mode") == "advanced":
        cells.append(("training", "Training"))
    if frozen.get("metric") == "Custom score":
        cells.append(("custom_score", "Custom score"))
    rows, other = metrics_table(model.metrics or {})
    deployed = list(db.scalars(select(SavedModelVersion).where(SavedModelVersion.trained_model_id == model.id)))
    context = {
        "project": project,
        "task": session.ml_task,
        "analysis": session.ml_task.analysis,
        "model": model,
        "session": session,
        "submitter": design.get("submitted_by", "—"),
        "metric_rows": rows,
        "other_logs": other,
        "evaluation": evaluation.load(settings.artifacts / model.path),
        "cells": [(cell, title, frozen.get("code", {}).get(cell, "")) for cell, title in cells],
        "location": trained_models.location(settings, model),
        "snippet": trained_snippet(model, session.number),
        "saved_models": registry.of_project(db, project),  # type: ignore[arg-type]
        "deployed": deployed,
        "can_write": role in ("writer", "admin"),
    }
    return render(request, "trained_model.html", context)


@router.post("/trained-models/{tmid}/deploy")
def deploy(
    tmid: str,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
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
    deployed: str | None = None,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Versions with their metrics, the active one, locations and snippets, and a "try it" scoring form."""
    saved = access.saved_model(db, user, saved_model_id)
    project = db.get(Project, saved.project_id)
    role = auth.role_in(db, user, project)  # type: ignore[arg-type]
    versions = list(saved.versions)
    models = {
        m.id: m
        for m in db.scalars(select(TrainedModel).where(TrainedModel.id.in_([v.trained_model_id for v in versions])))
    }
    entries = []
    for v in reversed(versions):
        model = models.get(v.trained_model_id)
        metric = model.metric if model else ""
        entries.append(
            {
                "version": v,
                "model": model,
                "metric": metric,
                "value": (model.metrics or {}).get(f"Test {metric}") if model else None,
                "active": v.version_id == saved.active_version,
                "location": registry.location(settings, saved, v),
                "snippet": saved_snippet(saved, v.version_id),
                "imported": model_import.metadata(settings, v),
            }
        )
    active = next((e for e in entries if e["active"]), None)
    context = {
        "project": project,
        "saved": saved,
        "entries": entries,
        "active": active,
        "fields": _score_fields(db, settings, active["model"]) if active and active["model"] else [],
        "deployed": deployed,
        "can_write": role in ("writer", "admin"),
    }
    return render(request, "saved_model.html", context)


def _score_fields(db: Session, settings: Settings, model: TrainedModel) -> list[dict[str, Any]]:
    """The columns the model needs, prefilled with the first row of its dataset when that still exists."""
    prep = model.preprocessing or {}
    fields = [{"name": m["column"], "kind": m["kind"]} for m in prep.get("main", [])]
    fields += [{"name": c, "kind": "text"} for c in prep.get("text", {})]
    fields += [{"name": c, "kind": "image"} for c in prep.get("image", {})]
    dataset = db.scalar(
        select(Dataset).join(Analysis, Analysis.dataset_id == Dataset.id).where(Analysis.id == model.analysis_id)
    )
    first: dict[str, Any] = {}
    if dataset is not None:
        try:
            preview = datasets.preview(settings, dataset, 1)
            if preview["rows"]:
                first = dict(zip(preview["columns"], preview["rows"][0], strict=False))
        except (OSError, ApiError):
            first = {}
    for field in fields:
        value = first.get(field["name"])
        field["value"] = "" if value is None else value
    return fields


@router.post("/saved-models/{saved_model_id}/active-version")
def make_active(
    saved_model_id: int,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
) -> Response:
    """Make a version the active one."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    registry.set_active(db, user, saved, form_str(form, "version_id"))
    db.commit()
    return redirect(f"/saved-models/{saved.id}")
