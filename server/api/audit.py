"""Route: a project's audit log — who submitted which code, deployed, deleted what, and when (project admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.api.deps import current_user
from server.db import get_db
from server.models import AuditEvent, User
from server.services import access

router = APIRouter(tags=["audit"])
MAX_LIMIT = 1000


def event_dict(row: AuditEvent) -> dict[str, Any]:
    """The API shape of one audit event (a submission's detail holds the code it froze)."""
    return {
        "id": row.id,
        "at": row.at,
        "user": row.username,
        "action": row.action,
        "target": row.target,
        "detail": row.detail or {},
    }


@router.get("/projects/{key}/audit")
def project_audit(
    key: str,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    action: str | None = Query(None, max_length=64, description="only events of this action, e.g. session.submit"),
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> list[dict[str, Any]]:
    """The project's audit events, newest first (project admins)."""
    project = access.project(db, user, key, "admin")
    belongs = or_(
        AuditEvent.detail["project"].as_string() == project.key,
        and_(AuditEvent.action.like("project.%"), AuditEvent.target == project.key),
    )
    query = select(AuditEvent).where(belongs, AuditEvent.at >= project.created_at)
    if action:
        query = query.where(AuditEvent.action == action)
    rows = db.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [event_dict(r) for r in rows]
