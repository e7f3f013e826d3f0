"""Request dependencies: the settings, a DB session, and the authenticated user, with their `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from server.db import get_db
from server.errors import ApiError
from server.models import User
from server.services import auth
from server.settings import Settings, get_settings
from server.web_session import check_csrf_header, read_session

SESSION_COOKIE = "fitstudio_session"


def settings_dep() -> Settings:
    """The settings (a dependency so tests can override it)."""
    return get_settings()


# Routes name these instead of repeating Depends(...) (the FastAPI full-stack template's manner).
DbDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]


def _unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "Authentication needed: send 'Authorization: Bearer <token>'.")


def user_from_cookie(request: Request, db: Session) -> User | None:
    """The user of the web UI's signed session cookie, or None."""
    data = read_session(request)
    if not data or not isinstance(data.get("uid"), int):
        return None
    user = db.get(User, data["uid"])
    if user is None or data.get("gen", 0) != user.session_gen:
        return None  # logged out since: the cookie's generation was revoked (webui.routes.logout)
    return user


def current_user(request: Request, db: DbDep) -> User:
    """The caller: a Bearer token, or (for reads and CSRF-checked writes) the web UI session cookie."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "The Authorization header must be 'Bearer <token>'.")
        user = auth.user_for_token(db, token.strip())
        if user is None:
            raise ApiError(
                401, "bad_token", "This token is unknown or revoked; create one with 'fitstudio tokens create'."
            )
        return user
    user = user_from_cookie(request, db)
    if user is None:
        raise _unauthorized()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf_header(request)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
