"""Route: a project's audit log — who submitted which code, deployed, deleted what, and when (project admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from server.api import pagination
from server.api.deps import CurrentUser, DbDep
from server.schemas.accounts import AuditEventOut
from server.services import access, audit

router = APIRouter(tags=["audit"])
MAX_LIMIT = 1000


@router.get("/projects/{key}/audit", response_model=list[AuditEventOut])
def project_audit(
    key: str,
    db: DbDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    action: str | None = Query(None, max_length=64, description="only events of this action, e.g. session.submit"),
    cursor: str | None = Query(None, max_length=2000, description="X-Next-Cursor of the previous page."),
) -> list[dict[str, Any]]:
    """The project's audit events, newest first, LIMIT at a time (project admins; `cursor` pages through them)."""
    project = access.project(db, user, key, "admin")
    before = pagination.int_cursor(cursor)
    events = audit.of_project(db, project, action, limit + 1, before)
    rows, next_cursor = pagination.trim(events, limit, lambda r: (r.id,))
    pagination.link_next(request, response, next_cursor)
    return [audit.as_dict(r) for r in rows]
