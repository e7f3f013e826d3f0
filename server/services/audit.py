"""The audit log: who submitted, deployed, deleted what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.models import AuditEvent, Project, User


def record(db: Session, user: User | None, action: str, target: str, **detail: Any) -> None:
    """Append one audit event (committed with the caller's transaction)."""
    db.add(
        AuditEvent(
            user_id=user.id if user else None,
            username=user.username if user else None,
            action=action,
            target=target[:300],
            detail=detail or None,
        )
    )


def of_project(
    db: Session, project: Project, action: str | None, limit: int, before: int | None = None
) -> list[AuditEvent]:
    """PROJECT's audit events (those naming it, since it was created), newest first, at most LIMIT, only ACTION's,
    only those older than event BEFORE (ids grow with time: a page's keyset)."""
    belongs = or_(
        AuditEvent.detail["project"].as_string() == project.key,
        and_(AuditEvent.action.like("project.%"), AuditEvent.target == project.key),
    )
    query = select(AuditEvent).where(belongs, AuditEvent.at >= project.created_at)
    if action:
        query = query.where(AuditEvent.action == action)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(db.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


def as_dict(row: AuditEvent) -> dict[str, Any]:
    """The API shape of one audit event (a submission's detail holds the code it froze)."""
    return {
        "id": row.id,
        "at": row.at,
        "user": row.username,
        "action": row.action,
        "target": row.target,
        "detail": row.detail or {},
    }
