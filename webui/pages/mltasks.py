"""Pages: an ML task's design (tabs, code editors) and its actions: save, validate, dry run, inputs, train."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from server.api.deps import DbDep, SettingsDep
from server.errors import ApiError
from server.models import MLTask, User
from server.services import (
    access,
    architecture_inputs,
    coercion_check,
    dry_run,
    mltasks,
    model_inputs,
    registry,
    sessions,
)
from webui import design
from webui.samples import code_samples
from webui.web import CsrfForm, PageRoute, PageUser, form_str, redirect, render, wants_json

router = APIRouter(route_class=PageRoute)
ACTIONS = ("save", "validate", "dry_run", "inputs", "train", "default_code")


@router.get("/ml-tasks/{mltask_id}/design", response_class=HTMLResponse)
def design_page(
    mltask_id: str,
    request: Request,
    db: DbDep,
    user: PageUser,
    saved: int = 0,
) -> Response:
    """The design: tabs for features, metric & split, architecture, training, custom score and GPU."""
    task = access.ml_task(db, user, mltask_id)
    notice = "Design saved." if saved else None
    return _render(request, db, user, task, task.settings, [], notice=notice)


def _render(
    request: Request,
    db: Session,
    user: User,
    task: MLTask,
    doc: dict[str, Any],
    errors: list[dict[str, Any]],
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    project = task.analysis.project
    ctx = design.form_context(task, doc)
    image_inputs = model_inputs.image_inputs(ctx["columns"])
    first_tab = design.tab_of(errors[0]) if errors else "features"
    context = {
        "project": project,
        "analysis": task.analysis,
        "task": task,
        "doc": doc,
        "errors": errors,
        "first_tab": first_tab,
        "notice": notice,
        "can_write": access.rights(db, user, project).can_write,
        "samples": code_samples(task.prediction_type, image_inputs, registry.of_project(db, project)),
        **ctx,
    }
    return render(request, "design.html", context, status_code=status_code)


def _json_or_page(
    request: Request, db: Session, user: User, task: MLTask, doc: dict[str, Any], body: dict[str, Any]
) -> Response:
    """BODY as JSON for the page's scripts; without scripts, the design page showing it."""
    pending = "poll_url" in body  # a dry run still waiting for a worker after FITSTUDIO_DRY_RUN_WAIT_S
    if wants_json(request):
        return JSONResponse(jsonable_encoder(body), status_code=202 if pending else 200)
    errors = body.get("errors") or []
    notice = None if errors else "The design is valid."
    if notice and body.get("warnings"):
        notice += " Warnings: " + " ".join(w["message"] for w in body["warnings"])
    if pending:
        notice = f"The design is valid; the dry run still waits for a worker (its result: {body['poll_url']})."
    return _render(request, db, user, task, doc, errors, notice=notice, status_code=422 if errors else 200)


@router.post("/ml-tasks/{mltask_id}/design", response_class=HTMLResponse)
def design_submit(
    mltask_id: str,
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Save, validate, dry-run, show the inputs of, or train the design the form holds."""
    action = form_str(form, "action", "save")
    if action not in ACTIONS:
        action = "save"
    task = access.ml_task(db, user, mltask_id, access.design_action_role(action))
    raw = design.settings_from_form(form, task)
    doc, errors = mltasks.validate_settings(task, raw)
    if action == "default_code":  # "Reset to default": each cell's default for the inputs the form holds now
        features = (doc or raw)["features"]
        return JSONResponse({"defaults": architecture_inputs.default_cells(task.prediction_type, features)})
    if action in ("validate", "dry_run", "inputs"):
        body: dict[str, Any] = {"ok": not errors, "errors": errors}
        if doc is not None:
            body["warnings"] = coercion_check.warnings(settings, task, doc)
        architecture_inputs.add_to(body, doc)
        if doc is not None and action == "dry_run":
            body.update(dry_run.run(db, settings, user, task, doc))
            body["ok"] = None if "poll_url" in body else not body["errors"]
        elif doc is not None and action == "inputs":
            body["input_shapes"] = model_inputs.input_shapes(settings, task, doc)
        return _json_or_page(request, db, user, task, doc or raw, body)
    if doc is None:
        if wants_json(request):
            return JSONResponse({"ok": False, "errors": errors}, status_code=422)
        return _render(request, db, user, task, raw, errors, status_code=422)
    mltasks.update_settings(db, user, task, doc)
    db.commit()
    if action == "train":
        try:
            session = sessions.submit(db, user, task)
        except ApiError as exc:
            db.rollback()
            errors = exc.errors or [{"field": "training", "message": exc.detail}]
            return _render(request, db, user, task, doc, errors, status_code=exc.status)
        return redirect(f"/ml-tasks/{task.id}?session={session.id}")
    return redirect(f"/ml-tasks/{task.id}/design?saved=1")
