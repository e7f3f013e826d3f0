"""Routes: liveness, readiness, workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User, WorkerRecord
from server.settings import Settings

router = APIRouter(tags=["service"])
api_router = APIRouter(tags=["service"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: Session = Depends(get_db), settings: Settings = Depends(settings_dep)) -> JSONResponse:
    """200 when SQL and the broker answer, 503 otherwise."""
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
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@api_router.get("/workers")
def workers(db: Session = Depends(get_db), _user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """Workers seen: queues, GPUs, current sessions, last heartbeat."""
    rows = db.scalars(select(WorkerRecord).order_by(WorkerRecord.name))
    return [
        {
            "name": w.name,
            "hostname": w.hostname,
            "queues": w.queues,
            "gpus": w.gpus,
            "concurrency": w.concurrency,
            "current_sessions": w.current_sessions,
            "started_at": w.started_at,
            "last_heartbeat": w.last_heartbeat,
            "stopped_at": w.stopped_at,
        }
        for w in rows
    ]
