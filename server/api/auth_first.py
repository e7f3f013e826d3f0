"""Authenticate a request that carries a body before one byte of it is read (401 at once, never after upload)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.db import new_session
from server.services import auth
from server.web_session import read_session

# Paths that take a body from someone not logged in yet (they read small forms and check them themselves).
PUBLIC_WRITES = frozenset({"/login", "/logout"})


def has_body(scope: Scope) -> bool:
    """True when the request declares a body: a Content-Length above 0, or a Transfer-Encoding."""
    for name, value in scope.get("headers") or []:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


def _token_user_exists(token: str) -> bool:
    """True when TOKEN is a live API token (blocking SQL, one indexed lookup)."""
    db = new_session()
    try:
        return auth.user_for_token(db, token) is not None
    finally:
        db.close()


def _unauthorized(code: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def refusal(request: Request) -> Response | None:
    """The answer for a body-carrying request whose credentials are absent or bad; None when they are good.

    A Bearer token is looked up; a web session cookie must carry a good signature (the route checks the rest:
    its user, its CSRF token). Without either, an API call gets 401 JSON and a page a redirect to /login.
    """
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("unauthorized", "The Authorization header must be 'Bearer <token>'.")
        if not await run_in_threadpool(_token_user_exists, token.strip()):
            return _unauthorized(
                "bad_token", "This token is unknown or revoked; create one with 'fitstudio tokens create'."
            )
        return None
    if read_session(request) is not None:
        return None
    path = request.url.path
    if path.startswith("/api/") or request.headers.get("x-requested-with") == "fetch":
        return _unauthorized("unauthorized", "Authentication needed: send 'Authorization: Bearer <token>'.")
    return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)


class AuthFirstMiddleware:
    """ASGI middleware: a request with a body must show good credentials before its body is read."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in PUBLIC_WRITES and has_body(scope):
            answer = await refusal(Request(scope))
            if answer is not None:
                answer.headers["Connection"] = "close"  # the unread body is not drained: the connection ends
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
