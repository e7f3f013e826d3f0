"""Routes: training submission and sessions."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from server.api.deps import CurrentUser, DbDep, SettingsDep, current_user
from server.api.pagination import PageDep, link_next, sql_page
from server.api.responses import json_response
from server.db import get_engine, new_session
from server.errors import not_found
from server.schemas.continue_training import ContinueRequest
from server.schemas.sessions import SessionOut
from server.services import access, continue_training, deletes, session_list, session_log, sessions

router = APIRouter(tags=["sessions"])


@router.post("/ml-tasks/{mltask_id}/train", status_code=202, response_model=SessionOut)
def train(mltask_id: str, db: DbDep, user: CurrentUser, _body: Any = Body(None)) -> dict[str, Any]:
    """Freeze the design into a new queued session and queue it for a worker."""
    task = access.ml_task(db, user, mltask_id, "writer")
    return sessions.as_dict(sessions.submit(db, user, task))


# Written by json_response like GET /sessions/{id}: validating every item's history against SessionOut again
# would cost more than reading it.
@router.get("/ml-tasks/{mltask_id}/sessions", response_model=None, responses={200: {"model": list[SessionOut]}})
def list_sessions(mltask_id: str, request: Request, db: DbDep, user: CurrentUser, page: PageDep) -> Response:
    """The ML task's sessions, newest first (`limit`/`cursor` pages, cut in SQL; no design is loaded)."""
    task = access.ml_task(db, user, mltask_id)
    rows, next_cursor = sql_page(db, session_list.summary_query(task), session_list.ORDER, page, descending=True)
    answer = json_response(session_list.items(db, rows))
    link_next(request, answer, next_cursor)
    return answer


@router.get("/ml-tasks/{mltask_id}/sessions/{number}", response_model=SessionOut)
def get_session_by_number(mltask_id: str, number: str, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """One session by its number in the ML task (3 or s3)."""
    task = access.ml_task(db, user, mltask_id)
    row = sessions.by_number(db, task, number)
    if row is None:
        raise not_found("session", f"{mltask_id}/sessions/{number}")
    return sessions.as_dict(row)


# Written by json_response, not validated against SessionOut: the model only documents the answer (hot path).
@router.get("/sessions/{session_id}", response_model=None, responses={200: {"model": SessionOut}})
async def get_session(session_id: int, request: Request) -> Response:
    """One session: status, progress, history, error."""
    # Polled by every open results page and client, so it skips the sync dependencies (each one a worker-thread
    # hop: the DB session, the user, the route). On SQLite (a local file; WAL readers never wait for writers)
    # the read runs right on the event loop: about 2 ms, cheaper than one hop, and a burst is served in
    # order instead of by threads taking turns at the GIL. A network database keeps a worker thread, so that
    # a slow server stalls only these requests (docs/benchmarks.md, API under load).
    if get_engine().dialect.name == "sqlite":
        return _read_session(request, session_id)
    return await run_in_threadpool(_read_session, request, session_id)


def _read_session(request: Request, session_id: int) -> Response:
    with closing(new_session()) as db:
        row = access.session(db, current_user(request, db), session_id)
        return json_response(sessions.as_dict(row))


@router.get("/sessions/{session_id}/log", response_class=PlainTextResponse)
def get_log(session_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> PlainTextResponse:
    """The training's output (stdout and stderr of the child process)."""
    row = access.session(db, user, session_id)
    return PlainTextResponse(session_log.read_all(settings, row))


@router.post("/sessions/{session_id}/interrupt", status_code=202, response_model=SessionOut)
def interrupt(session_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Stop after the current batch, keep the best epoch, end succeeded + interrupted."""
    row = access.session(db, user, session_id, "writer")
    return sessions.as_dict(sessions.interrupt(db, user, row))


@router.post("/sessions/{session_id}/abort", status_code=202, response_model=SessionOut)
def abort(session_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Kill the training (or dequeue it); no model is kept."""
    row = access.session(db, user, session_id, "writer")
    return sessions.as_dict(sessions.abort(db, user, row))


@router.post("/sessions/{session_id}/continue", status_code=202, response_model=SessionOut)
def continue_session(session_id: int, body: ContinueRequest, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Queue a new session training `epochs` more epochs from this one's final state (409 unless it succeeded)."""
    row = access.session(db, user, session_id, "writer")
    return sessions.as_dict(continue_training.submit(db, user, row, body.epochs))


@router.delete("/sessions/{session_id}", status_code=204)
def delete_session(session_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete a session with its trained model and log (admins; 409 while it runs or its model is deployed)."""
    row = access.session(db, user, session_id, "admin")
    deletes.delete_session(db, settings, user, row)
    db.commit()
    return Response(status_code=204)
