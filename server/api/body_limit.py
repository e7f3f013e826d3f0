"""Refuse request bodies over their limit before they are read (413 JSON), not after spooling them to disk.

Uploads (multipart/form-data) have FITSTUDIO_MAX_UPLOAD_MB; scoring requests (…/predict, rows with images)
FITSTUDIO_MAX_PREDICT_MB; every other body (JSON, web forms) FITSTUDIO_MAX_JSON_MB.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.settings import Settings, get_settings

# Raw file bodies: PUT /api/v1/folders/{id}/files/{path} and PUT /api/v1/weights/{name}.
_RAW_UPLOAD = re.compile(r"^/api/v1/(folders/[^/]+/files|weights)/")

# Room for the multipart framing and the other form fields around a file of exactly the limit.
MULTIPART_OVERHEAD = 64 << 10


def limit_of(scope: Scope, settings: Settings) -> tuple[int, int, str]:
    """(limit in bytes, limit in MB, setting name) for the request SCOPE's body."""
    content_type = b""
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            content_type = value.lower()
            break
    if content_type.startswith(b"multipart/form-data"):
        mb = settings.max_upload_mb
        return (mb << 20) + MULTIPART_OVERHEAD, mb, "FITSTUDIO_MAX_UPLOAD_MB"
    if scope.get("method") == "PUT" and _RAW_UPLOAD.match(str(scope.get("path", ""))):
        mb = settings.max_upload_mb  # a file PUT as is: into a managed folder or the weights store
        return mb << 20, mb, "FITSTUDIO_MAX_UPLOAD_MB"
    if str(scope.get("path", "")).rstrip("/").endswith("/predict"):
        mb = settings.max_predict_mb
        return mb << 20, mb, "FITSTUDIO_MAX_PREDICT_MB"
    mb = settings.max_json_mb
    return mb << 20, mb, "FITSTUDIO_MAX_JSON_MB"


def _detail(limit_mb: int, setting: str) -> str:
    return f"The request is larger than {limit_mb} MB ({setting}); send a smaller body."


def _declared(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """ASGI middleware: a body over its limit (see limit_of) gets 413 JSON.

    A declared Content-Length over the limit is refused before one byte of the body is read; a body without one
    (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, limit_mb, setting = limit_of(scope, get_settings())
        declared = _declared(scope)
        if declared is not None and declared > limit:
            response = JSONResponse(
                {"detail": _detail(limit_mb, setting), "code": "too_large"},
                status_code=413,
                headers={"Connection": "close"},
            )
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
                    raise HTTPException(413, _detail(limit_mb, setting))
            return message

        await self.app(scope, counted, send)
