"""Routes: liveness, readiness, workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import User, WorkerRecord, utcnow
from server.services import readiness
from server.services import workers as worker_service
from server.settings import Settings

router = APIRouter(tags=["service"])
api_router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process lives (on the event loop: it never waits for a request thread or a connection)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(settings: Settings = Depends(settings_dep)) -> JSONResponse:
    """200 when SQL and the broker answer, a live worker consumes a queue and the disk has room; 503 otherwise,
    saying why (server/services/readiness.py: on a thread of its own, never behind user work)."""
    checks = await readiness.check(settings)
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
