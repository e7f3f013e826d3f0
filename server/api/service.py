"""Routes: liveness, readiness, workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.models import utcnow
from server.schemas.service import HealthOut, ReadinessOut, WorkerOut
from server.services import readiness
from server.services import workers as worker_service

router = APIRouter(tags=["service"])
api_router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz() -> HealthOut:
    """200 while the process lives (on the event loop: it never waits for a request thread or a connection)."""
    return HealthOut(status="ok")


_READINESS = {
    200: {"model": ReadinessOut, "description": "Ready"},
    503: {"model": ReadinessOut, "description": "Not ready: each failing check says why"},
}


@router.get("/readyz", responses=_READINESS)
async def readyz(settings: SettingsDep) -> JSONResponse:
    """200 when SQL and the broker answer, a live worker consumes a queue and the disk has room; 503 otherwise,
    saying why (server/services/readiness.py: on a thread of its own, never behind user work)."""
    checks = await readiness.check(settings)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@api_router.get("/workers", response_model=list[WorkerOut])
def workers(
    request: Request, response: Response, db: DbDep, settings: SettingsDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """Workers seen: state, queues, GPUs, current sessions (only those the caller may read; `busy` counts all),
    last heartbeat, how they isolate user code."""
    now = utcnow()
    rows = paginate(request, response, worker_service.all_rows(db), page, lambda w: (w.name,))
    visible = worker_service.readable_sessions(db, user, (s for w in rows for s in (w.current_sessions or [])))
    return [worker_service.describe(w, settings, now, visible) for w in rows]
