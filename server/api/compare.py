"""Routes: comparing an ML task's sessions, and a session's tags and note."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from server.api.deps import CurrentUser, DbDep
from server.schemas.compare import CompareOut, SessionAnnotate
from server.schemas.sessions import SessionOut
from server.services import access, compare, session_tags, sessions

router = APIRouter(tags=["sessions"])


@router.get("/ml-tasks/{mltask_id}/compare", response_model=CompareOut)
def compare_sessions(
    mltask_id: str, db: DbDep, user: CurrentUser, sessions_: str = Query("", alias="sessions", max_length=400)
) -> dict[str, Any]:
    """Sessions by number (?sessions=1,2,3): metrics, histories and designs side by side, and the design diff."""
    task = access.ml_task(db, user, mltask_id)
    return compare.compare(db, task, sessions_)


@router.patch("/sessions/{session_id}", response_model=SessionOut)
def annotate(session_id: int, body: SessionAnnotate, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Set a session's tags and/or free-text note (writers)."""
    row = access.session(db, user, session_id, "writer")
    return sessions.as_dict(session_tags.update(db, user, row, body.model_dump(exclude_unset=True)))
