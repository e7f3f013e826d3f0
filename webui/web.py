"""What every page module shares: the templates, the logged-in user, CSRF-checked forms, and HTML error pages."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from server import web_session as websession
from server.api.deps import DbDep, user_from_cookie
from server.errors import ApiError
from server.models import User

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
_T = TypeVar("_T")


class LoginRequired(Exception):
    """Raised by page_user when nobody is logged in: the page answers with a redirect to /login."""


def wants_json(request: Request) -> bool:
    """True for calls made by page scripts (fetch), which get JSON errors instead of an HTML page."""
    accept = request.headers.get("accept", "")
    return request.headers.get("x-requested-with") == "fetch" or accept.startswith("application/json")


class PageRoute(APIRoute):
    """A route whose errors become HTML pages (or JSON for fetch calls) and whose anonymous callers log in first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler with the login redirect and the error page."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if wants_json(request):
                    return JSONResponse({"detail": "Log in again.", "code": "unauthorized"}, status_code=401)
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            except ApiError as exc:
                if wants_json(request):
                    return JSONResponse(exc.body(), status_code=exc.status)
                return render(request, "error.html", {"error": exc}, status_code=exc.status)
            except RequestValidationError:
                if wants_json(request):
                    raise
                error = ApiError(404, "not_found", "No such page: an id in the address is not valid.")
                return render(request, "error.html", {"error": error}, status_code=404)

        return route


def page_user(request: Request, db: DbDep) -> User:
    """The logged-in user of a page (LoginRequired when there is none)."""
    user = user_from_cookie(request, db)
    if user is None:
        raise LoginRequired()
    request.state.user = user
    return user


async def csrf_form(request: Request) -> FormData:
    """The submitted form, after checking its csrf field against the session (403 otherwise)."""
    form = await request.form()
    value = form.get("csrf")
    websession.check_csrf(request, value if isinstance(value, str) else None)
    return form


# Page routes name these instead of repeating Depends(...), as the API names server.api.deps' aliases.
PageUser = Annotated[User, Depends(page_user)]
CsrfForm = Annotated[FormData, Depends(csrf_form)]


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """Render template NAME with the user and CSRF token added to CONTEXT."""
    ctx = {"user": getattr(request.state, "user", None), "csrf": websession.csrf_token(request), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def redirect(url: str) -> Response:
    """303 to URL (after a form POST)."""
    return RedirectResponse(url, status_code=303)


def commit_or_show(
    db: Session, change: Callable[[], _T], then: str | Callable[[_T], str], shown: Callable[[ApiError], Response]
) -> Response:
    """A form's change: run CHANGE and commit, then 303 to THEN (or THEN of CHANGE's result); on an ApiError roll
    back and answer SHOWN(error), the page again with the error on it."""
    try:
        result = change()
        db.commit()
    except ApiError as exc:
        db.rollback()
        return shown(exc)
    return redirect(then if isinstance(then, str) else then(result))


def form_str(form: FormData, name: str, default: str = "") -> str:
    """A text field of FORM ('' for files or missing fields)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


# Template filters -------------------------------------------------------------------------------------------


def fmt_time(value: datetime | None) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM:SS' UTC."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    """A duration as '1h 02m', '3m 05s' or '4.2s'."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def fmt_num(value: Any) -> str:
    """A metric value by the one rule of every page (formatNumber in common.js is the same): docs/webui.md."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "—"
    size = abs(value)
    if size >= 1e15 or 0 < size < 1e-4:
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"  # 1.234e-5
    text = f"{value:.4g}"  # 4 significant digits, trailing zeros dropped: 0.9987, 0.5, 123.5
    if value == int(value) or size >= 1e4 or "e" in text:
        return str(math.floor(value + 0.5))  # integers, and from 9999.95 up, without decimals (halves up, as JS)
    return text


def fmt_bytes(value: int | None) -> str:
    """A size in B, KB, MB or GB."""
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


templates.env.filters.update(time=fmt_time, duration=fmt_duration, num=fmt_num, bytes=fmt_bytes)
