"""Pages: an ML task's results (sessions newest first, one shown in detail, live while it runs) and their controls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session as DbSession

from server.api.deps import DbDep
from server.api.pagination import PageParams, sql_page
from server.errors import ApiError
from server.models import MLTask
from server.services import access, results, session_list, sessions
from webui import session_view
from webui.web import CsrfForm, PageRoute, PageUser, redirect, render

router = APIRouter(route_class=PageRoute)


# Rows of the results table per page: the page loads these sessions' summary columns only (session_list).
PAGE_SIZE = 50


@router.get("/ml-tasks/{mltask_id}", response_class=HTMLResponse)
def results_page(
    mltask_id: str,
    request: Request,
    db: DbDep,
    user: PageUser,
    session: int | None = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Sessions newest first with status, duration, submitter and metric, PAGE_SIZE a page; the selected one (or
    the page's first) in detail."""
    task = access.ml_task(db, user, mltask_id)
    project = task.analysis.project
    query = session_list.summary_query(task)
    rows, next_cursor = sql_page(db, query, session_list.ORDER, PageParams(PAGE_SIZE, cursor), descending=True)
    entries = results.entries(db, rows)
    selected = next((e for e in entries if e["row"].id == session), None) or _selected(db, task, session)
    selected = selected or (entries[0] if entries else None)
    context = {
        "project": project,
        "analysis": task.analysis,
        "task": task,
        "entries": entries,
        "cursor": cursor,
        "next_cursor": next_cursor,
        "selected": selected,
        "detail": session_view.extend(results.detail(selected["row"]), selected["row"]) if selected else None,
        "can_write": access.rights(db, user, project).can_write,
    }
    return render(request, "results.html", context)


def _selected(db: DbSession, task: MLTask, session_id: int | None) -> dict[str, Any] | None:
    """The session SESSION_ID of TASK when it is not on the page shown (a link to an older one), else None."""
    row = session_list.one(db, task, session_id) if session_id is not None else None
    return {"row": row} if row is not None else None


@router.post("/ml-tasks/{mltask_id}/train")
def train_again(mltask_id: str, _form: CsrfForm, db: DbDep, user: PageUser) -> Response:
    """Train the saved design again; the new session shows at once, queued."""
    task = access.ml_task(db, user, mltask_id, "writer")
    row = sessions.submit(db, user, task)
    return redirect(f"/ml-tasks/{task.id}?session={row.id}")


@router.post("/sessions/{session_id}/{action}")
def control(
    session_id: int,
    action: str,
    _form: CsrfForm,
    db: DbDep,
    user: PageUser,
) -> Response:
    """Interrupt (keep the best epoch) or abort (no model) a session, then show it again."""
    row = access.session(db, user, session_id, "writer")
    back = f"/ml-tasks/{row.ml_task_id}?session={row.id}"
    if action not in ("interrupt", "abort"):
        return redirect(back)
    try:
        (sessions.interrupt if action == "interrupt" else sessions.abort)(db, user, row)
    except ApiError as exc:
        if exc.status != 409:  # it ended meanwhile: the page shows how
            raise
        db.rollback()
    return redirect(back)
