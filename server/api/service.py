"""Routes: liveness, readiness, workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User, WorkerRecord, utcnow
from server.services import workers as worker_service
from server.settings import Settings

router = APIRouter(tags=["service"])
api_router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process lives (on the event loop: it never waits for a request thread or a connection)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: Session = Depends(get_db), settings: Settings = Depends(settings_dep)) -> JSONResponse:
    """200 when SQL and the broker answer and a live worker consumes a queue; 503 otherwise, saying why."""
    checks: dict[str, str] = {}
    try:
        db.execute(text("SELECT 1"))
        checks["sql"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["sql"] = f"error: {type(exc).__name__}"
    try:
        from worker.celery_app import broker_ping

        broker_ping(settings)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    try:
        checks["workers"] = worker_service.readiness(db, settings) if checks["sql"] == "ok" else "unknown: no SQL"
    except Exception as exc:
        checks["workers"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@api_router.get("/workers")
def workers(
    db: Session = Depends(get_db), settings: Settings = Depends(settings_dep), user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    """Workers seen: state, queues, GPUs, current sessions (only those the caller may read; `busy` counts all),
    last heartbeat, how they isolate user code."""
    now = utcnow()
    rows = list(db.scalars(select(WorkerRecord).order_by(WorkerRecord.name)))
    visible = worker_service.readable_sessions(db, user, (s for w in rows for s in (w.current_sessions or [])))
    return [worker_service.describe(w, settings, now, visible) for w in rows]
