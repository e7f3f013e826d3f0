"""Route: GET /sessions/{id}/events — live progress as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.services import access
from server.services.session_events import Cursor, SessionStream, poll_executor, slots

router = APIRouter(tags=["sessions"])
POLL_S = 0.5
KEEPALIVE_S = 15.0


class _SlotResponse(StreamingResponse):
    """A stream that gives its slot back however it ends (finished, client gone, never started)."""

    def __init__(self, *args: object, user_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user_id = user_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            slots.release(self.user_id)


_SSE = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "Server-Sent Events"}}


@router.get("/sessions/{session_id}/events", response_class=StreamingResponse, responses=_SSE)
async def session_events(
    session_id: int,
    request: Request,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    """status, batch, epoch (with logs), log and end events; reconnect with Last-Event-ID to miss nothing."""
    access.session(db, user, session_id)
    user_id = user.id
    db.close()  # the request's pooled connection goes back now; polls use their own, one poll at a time
    slots.acquire(user_id, settings)
    stream = SessionStream(settings, session_id, Cursor.parse(last_event_id))
    loop = asyncio.get_running_loop()

    async def generate() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        idle = 0.0
        while not stream.ended:
            if await request.is_disconnected():
                return
            frames = await loop.run_in_executor(poll_executor(), stream.poll)
            for frame in frames:
                yield frame
            if frames:
                idle = 0.0
            else:
                idle += POLL_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keep-alive\n\n"
            if not stream.ended:
                await asyncio.sleep(POLL_S)

    return _SlotResponse(
        generate(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        user_id=user_id,
    )
