"""Page: the workers, their state, queues, GPUs, sandbox, current sessions and last heartbeat."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import DbDep, SettingsDep
from server.services import workers
from webui.web import PageRoute, PageUser, render

router = APIRouter(route_class=PageRoute)


@router.get("/workers", response_class=HTMLResponse)
def workers_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    user: PageUser,
) -> Response:
    """Every worker seen, newest heartbeat first, with whether it is alive and how it isolates user code."""
    context = {"workers": workers.listing(db, settings, user), "lost_after_s": settings.worker_lost_after_s}
    return render(request, "workers.html", context)
