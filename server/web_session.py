"""The login cookie (signed, HttpOnly, SameSite=Lax) and its CSRF token: read by the API, set by the web UI."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.errors import ApiError
from server.settings import get_settings

COOKIE = "fitstudio_session"
MAX_AGE_S = 14 * 86400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().signing_key, salt="fitstudio-session")


def read_session(request: Request) -> dict[str, Any] | None:
    """The cookie's content if its signature and age are good."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def start_session(response: Response, user_id: int, secure: bool = False, gen: int = 0) -> str:
    """Set a new session cookie for USER_ID (in its session generation GEN) on RESPONSE; returns its CSRF token."""
    csrf = secrets.token_urlsafe(24)
    value = _serializer().dumps({"uid": user_id, "gen": gen, "csrf": csrf})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_S, httponly=True, samesite="lax", secure=secure, path="/")
    return csrf


def end_session(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/")


def csrf_token(request: Request) -> str:
    """The CSRF token of the current session ('' without one)."""
    data = read_session(request) or {}
    return str(data.get("csrf", ""))


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless SUBMITTED equals the session's CSRF token."""
    expected = csrf_token(request)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise ApiError(403, "csrf_failed", "The form's CSRF token is missing or stale; reload the page and retry.")


def check_csrf_header(request: Request) -> None:
    """CSRF check for cookie-authenticated API writes (header X-CSRF-Token)."""
    check_csrf(request, request.headers.get("x-csrf-token"))
