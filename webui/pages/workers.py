"""Page: the workers, their queues, GPUs, current sessions and last heartbeat."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import get_db
from server.models import TrainingSession, User, WorkerRecord, utcnow
from webui.web import PageRoute, page_user, render

router = APIRouter(route_class=PageRoute)
STALE_AFTER_S = 60.0


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request, db: Session = Depends(get_db), user: User = Depends(page_user)) -> Response:
    """Every worker seen, newest heartbeat first, with whether it looks alive."""
    now = utcnow()
    rows = sorted(db.scalars(select(WorkerRecord)), key=lambda w: w.last_heartbeat, reverse=True)
    current = {s for w in rows for s in (w.current_sessions or []) if isinstance(s, int)}
    tasks = (
        dict(
            db.execute(
                select(TrainingSession.id, TrainingSession.ml_task_id).where(TrainingSession.id.in_(current))
            ).all()
        )
        if current
        else {}
    )
    workers = []
    for w in rows:
        age = (now - w.last_heartbeat).total_seconds()
        state = "stopped" if w.stopped_at else ("alive" if age < STALE_AFTER_S else "silent")
        sessions = [{"id": s, "task": tasks.get(s)} for s in (w.current_sessions or [])]
        workers.append({"row": w, "age": age, "state": state, "sessions": sessions})
    return render(request, "workers.html", {"workers": workers})
