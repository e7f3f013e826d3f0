"""Refuse request targets holding bytes no resource name may hold (NUL and other control characters)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# C0 controls and DEL: no id, key, version or file name we issue or store contains one.
_CONTROL = frozenset(range(32)) | {127}


def has_control(data: bytes) -> bool:
    """True when DATA holds a C0 control character or DEL."""
    return any(b in _CONTROL for b in data)


def _path_bytes(scope: Scope) -> bytes:
    raw = scope.get("raw_path")
    if raw:
        return unquote_to_bytes(bytes(raw).split(b"?", 1)[0])
    return str(scope.get("path", "")).encode("utf-8", "surrogateescape")


class PathGuardMiddleware:
    """ASGI middleware: 404 JSON for a path with a control character, 400 for a query string with NUL.

    Such a path can name no resource (a NUL byte would otherwise reach os.stat or a PostgreSQL literal, both of
    which refuse it with an exception), so it is answered before any route or dependency runs.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            response = self._refusal(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> JSONResponse | None:
        """The error response for a bad target, or None when it is fine."""
        if has_control(_path_bytes(scope)):
            return JSONResponse(
                {"detail": "No such path: it holds a control character.", "code": "not_found"}, status_code=404
            )
        query = bytes(scope.get("query_string") or b"")
        if b"\x00" in unquote_to_bytes(query.replace(b"+", b" ")):
            return JSONResponse(
                {"detail": "The query string holds a NUL byte; remove it.", "code": "bad_request"}, status_code=400
            )
        return None
