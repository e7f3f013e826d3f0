"""Refuse request bodies over the upload limit before they are read (413 JSON), not after spooling them to disk."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.settings import get_settings

# Room for the multipart framing and the other form fields around a file of exactly the limit.
MULTIPART_OVERHEAD = 64 << 10


def _detail(limit_mb: int) -> str:
    return f"The request is larger than {limit_mb} MB (FITSTUDIO_MAX_UPLOAD_MB); send a smaller file."


class BodyLimitMiddleware:
    """ASGI middleware: a body over FITSTUDIO_MAX_UPLOAD_MB (+ multipart framing) gets 413 JSON.

    A declared Content-Length over the limit is refused before one byte of the body is read; a body without one
    (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit_mb = get_settings().max_upload_mb
        limit = (limit_mb << 20) + MULTIPART_OVERHEAD
        declared = None
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > limit:
            response = JSONResponse({"detail": _detail(limit_mb), "code": "too_large"}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised while the route reads its body: FastAPI passes HTTPException through to the handlers.
                    raise HTTPException(413, _detail(limit_mb))
            return message

        await self.app(scope, counted, send)
