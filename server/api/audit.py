"""Route: a project's audit log — who submitted which code, deployed, deleted what, and when (project admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

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
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    action: str | None = Query(None, max_length=64, description="only events of this action, e.g. session.submit"),
) -> list[dict[str, Any]]:
    """The project's audit events, newest first (project admins)."""
    project = access.project(db, user, key, "admin")
    return [audit.as_dict(r) for r in audit.of_project(db, project, action, limit)]
