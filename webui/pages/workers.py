"""Page: the workers, their state, queues, GPUs, sandbox, current sessions and last heartbeat."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import settings_dep
from server.db import get_db
from server.models import User, WorkerRecord, utcnow
from server.services.workers import readable_sessions, state_of
from server.settings import Settings
from webui.web import PageRoute, page_user, render

router = APIRouter(route_class=PageRoute)


@router.get("/workers", response_class=HTMLResponse)
def workers_page(
    request: Request,
    db: Session = Depends(get_db),
    settings: Settings = Depends(settings_dep),
    user: User = Depends(page_user),
) -> Response:
    """Every worker seen, newest heartbeat first, with whether it is alive and how it isolates user code."""
    now = utcnow()
    rows = sorted(db.scalars(select(WorkerRecord)), key=lambda w: w.last_heartbeat, reverse=True)
    tasks = readable_sessions(db, user, (s for w in rows for s in (w.current_sessions or [])))  # what USER may read
    workers = []
    for w in rows:
        age = (now - w.last_heartbeat).total_seconds()
        current = w.current_sessions or []
        sessions = [{"id": s, "task": tasks[s]} for s in current if s in tasks]
        entry = {"row": w, "age": age, "state": state_of(w, settings, now), "sessions": sessions}
        workers.append({**entry, "others": len(current) - len(sessions)})
    return render(request, "workers.html", {"workers": workers, "lost_after_s": settings.worker_lost_after_s})
