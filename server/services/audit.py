"""The audit log: who submitted, deployed, deleted what."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.models import AuditEvent, User


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
