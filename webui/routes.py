"""HTML routes: login (password or token link) and logout here; every other page in webui/pages/."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from server import web_session as websession
from server.api.deps import DbDep
from server.api.hosts import client_address
from server.db import session_scope
from server.services import auth, ratelimit
from server.settings import get_settings
from webui.pages import analyses, compare, datasets, folders, mltasks, model_jobs, models, projects, sessions, workers
from webui.web import HERE, PageRoute, csrf_form, redirect, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def mount_static(app: FastAPI) -> None:
    """Serve the vendored front-end assets."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


def _secure(request: Request) -> bool:
    """Mark the cookie Secure when the service is reached over HTTPS (directly or per FITSTUDIO_PUBLIC_URL)."""
    return request.url.scheme == "https" or get_settings().public_url.startswith("https://")


def _next_url(value: str | None) -> str:
    """A local path to go to after logging in ('/' for anything else)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: DbDep, token: str | None = None, next: str | None = None) -> Response:
    """The login form; ?token=… (the link `fitstudio up` prints) logs in directly, once per token."""
    if token:
        user = auth.user_for_login_link(db, token, get_settings().login_link_ttl_s)
        if user is not None:
            response = redirect(_next_url(next))
            websession.start_session(response, user.id, secure=_secure(request), gen=user.session_gen)
            return response
        error = (
            "That login link is not valid any more: a link logs in once, and only soon after its token was created. "
            "Print a new one with `fitstudio login-link NAME`, or log in with your password."
        )
        return render(request, "login.html", {"error": error}, status_code=401)
    return render(request, "login.html", {"error": None, "next": _next_url(next)})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DbDep,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check a username and password and start a session (failures are rate-limited per client and name)."""
    client = client_address(request, get_settings().trusted_proxies)  # X-Forwarded-For only from trusted proxies
    wait = ratelimit.logins.retry_after(client, username)
    if wait:
        return JSONResponse(
            {"detail": f"Too many failed logins; try again in {wait} s.", "code": "too_many_attempts"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    user = auth.get_user(db, username)
    if user is None or not auth.verify_password(user, password):
        ratelimit.logins.failure(client, username)
        context = {"error": "Wrong user name or password.", "next": _next_url(next), "username": username}
        return render(request, "login.html", context, status_code=401)
    ratelimit.logins.success(client, username)
    response = redirect(_next_url(next))
    websession.start_session(response, user.id, secure=_secure(request), gen=user.session_gen)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session here and on the server (every cookie of this user issued so far is refused from now on);
    the form's CSRF token must match it (403), so another site cannot log a user out."""
    data = websession.read_session(request)
    if data is not None:  # no session: nothing to end, nothing to forge
        await csrf_form(request)
        if isinstance(data.get("uid"), int):
            await run_in_threadpool(_end_web_sessions, data["uid"])
    response = redirect("/login")
    websession.end_session(response)
    return response


def _end_web_sessions(user_id: int) -> None:
    with session_scope() as db:
        auth.end_web_sessions(db, user_id)


for _module in (projects, datasets, analyses, mltasks, sessions, compare, models, model_jobs, workers):
    router.include_router(_module.router)
router.include_router(folders.router)  # managed folders and the weights store (data.md)
