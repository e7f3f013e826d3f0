"""A session's tags and free-text note: the user's own labels, set after the fact and searched on the results page."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.models import TrainingSession, User
from server.services import audit

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_NOTE_LENGTH = 4000


def clean_tags(tags: list[str]) -> list[str]:
    """TAGS stripped and deduplicated in order (the request model has bounded their number and length)."""
    out: list[str] = []
    for tag in (t.strip() for t in tags):
        if tag not in out:
            out.append(tag)
    return out


def update(db: Session, user: User, row: TrainingSession, changes: dict[str, Any]) -> TrainingSession:
    """Set ROW's tags and/or note from CHANGES (the fields the request gave), audited, committed."""
    if "tags" in changes:
        row.tags = clean_tags(changes["tags"] or [])
    if "note" in changes:
        row.note = (changes["note"] or "").strip() or None
    audit.record(
        db, user, "session.annotate", str(row.id), project=row.ml_task.analysis.project.key, fields=sorted(changes)
    )
    db.commit()
    db.refresh(row)
    return row
