"""Pages: an ML task's results (sessions newest first, one shown in detail, live while it runs) and their controls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from server.db import get_db
from server.errors import ApiError
from server.models import TERMINAL, TrainedModel, TrainingSession, User, utcnow
from server.services import access, auth, sessions
from webui.web import PageRoute, csrf_form, page_user, redirect, render

router = APIRouter(route_class=PageRoute)


def _duration(row: TrainingSession) -> float | None:
    if row.started_at is None:
        return None
    end = row.ended_at or (utcnow() if row.status == "running" else None)
    return (end - row.started_at).total_seconds() if end else None


def _metric_value(row: TrainingSession, key: str, model_metrics: dict[str, Any] | None) -> Any:
    """The optimisation metric: the kept epoch's for a trained model, else the latest epoch's."""
    if model_metrics is not None:
        return model_metrics.get(key)
    history = row.history or []
    return history[-1].get(key) if history else None


@router.get("/ml-tasks/{mltask_id}", response_class=HTMLResponse)
def results_page(
    mltask_id: str,
    request: Request,
    session: int | None = None,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
) -> Response:
    """Sessions newest first with status, duration, submitter and metric; the selected one in detail."""
    task = access.ml_task(db, user, mltask_id)
    project = task.analysis.project
    role = auth.role_in(db, user, project)
    rows = sessions.of_task(db, task)
    metrics = dict(
        db.execute(select(TrainedModel.id, TrainedModel.metrics).where(TrainedModel.ml_task_id == task.id)).all()
    )
    entries = []
    for row in rows:
        design = row.design or {}
        metric = design.get("settings", {}).get("metric", "")
        entries.append(
            {
                "row": row,
                "metric": metric,
                "value": _metric_value(row, f"Test {metric}", metrics.get(row.trained_model_id or "")),
                "duration": _duration(row),
                "submitter": design.get("submitted_by", "—"),
            }
        )
    selected = next((e for e in entries if e["row"].id == session), entries[0] if entries else None)
    context = {
        "project": project,
        "analysis": task.analysis,
        "task": task,
        "entries": entries,
        "selected": selected,
        "detail": _detail(selected["row"]) if selected else None,
        "can_write": role in ("writer", "admin"),
        "terminal": TERMINAL,
    }
    return render(request, "results.html", context)


def _detail(row: TrainingSession) -> dict[str, Any]:
    """What the selected session's panel shows (and what its script starts from)."""
    design = row.design or {}
    settings = design.get("settings", {})
    error = row.error or None
    code = None
    if error and error.get("cell"):
        code = (settings.get("code") or {}).get(error["cell"], "")
    return {
        "id": row.id,
        "number": row.number,
        "status": row.status,
        "live": row.status not in TERMINAL,
        "metric": settings.get("metric", ""),
        "history": row.history or [],
        "progress": row.progress or {},
        "error": error,
        "error_code": code,
        "trained_model_id": row.trained_model_id,
        "interrupted": row.interrupted,
        "worker": row.worker,
        "started_at": row.started_at.isoformat() if row.started_at else None,
    }


@router.post("/ml-tasks/{mltask_id}/train")
def train_again(
    mltask_id: str, _form: FormData = Depends(csrf_form), db: Session = Depends(get_db), user: User = Depends(page_user)
) -> Response:
    """Train the saved design again; the new session shows at once, queued."""
    task = access.ml_task(db, user, mltask_id, "writer")
    row = sessions.submit(db, user, task)
    return redirect(f"/ml-tasks/{task.id}?session={row.id}")


@router.post("/sessions/{session_id}/{action}")
def control(
    session_id: int,
    action: str,
    _form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
) -> Response:
    """Interrupt (keep the best epoch) or abort (no model) a session, then show it again."""
    row = access.session(db, user, session_id, "writer")
    back = f"/ml-tasks/{row.ml_task_id}?session={row.id}"
    if action not in ("interrupt", "abort"):
        return redirect(back)
    try:
        (sessions.interrupt if action == "interrupt" else sessions.abort)(db, user, row)
    except ApiError as exc:
        if exc.status != 409:  # it ended meanwhile: the page shows how
            raise
        db.rollback()
    return redirect(back)
