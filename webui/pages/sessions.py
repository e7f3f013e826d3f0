"""Pages: an ML task's results (sessions newest first, one shown in detail, live while it runs) and their controls."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import DbDep
from server.errors import ApiError
from server.services import access, results, sessions
from webui import session_view
from webui.web import CsrfForm, PageRoute, PageUser, redirect, render

router = APIRouter(route_class=PageRoute)


@router.get("/ml-tasks/{mltask_id}", response_class=HTMLResponse)
def results_page(
    mltask_id: str,
    request: Request,
    db: DbDep,
    user: PageUser,
    session: int | None = None,
) -> Response:
    """Sessions newest first with status, duration, submitter and metric; the selected one in detail."""
    task = access.ml_task(db, user, mltask_id)
    project = task.analysis.project
    entries = results.of_task(db, task)
    selected = next((e for e in entries if e["row"].id == session), entries[0] if entries else None)
    context = {
        "project": project,
        "analysis": task.analysis,
        "task": task,
        "entries": entries,
        "selected": selected,
        "detail": session_view.extend(results.detail(selected["row"]), selected["row"]) if selected else None,
        "can_write": access.rights(db, user, project).can_write,
    }
    return render(request, "results.html", context)


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
