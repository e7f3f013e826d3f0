"""HTML routes: login (password or token link), logout, and the home page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from server.api.deps import user_from_cookie
from server.db import get_db
from server.services import auth, projects
from webui import session as websession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    """Serve the vendored front-end assets."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, token: str | None = None, db: Session = Depends(get_db)) -> Response:
    """The login form; ?token=… (the link `fitstudio up` prints) logs in directly."""
    if token:
        user = auth.user_for_token(db, token)
        if user is not None:
            response = RedirectResponse("/", status_code=303)
            websession.start_session(response, user.id)
            return response
        return templates.TemplateResponse(
            request, "login.html", {"error": "That login link is not valid any more."}, status_code=401
        )
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request, username: str = Form(""), password: str = Form(""), db: Session = Depends(get_db)
) -> Response:
    """Check a username and password and start a session."""
    user = auth.get_user(db, username)
    if user is None or not auth.verify_password(user, password):
        return templates.TemplateResponse(
            request, "login.html", {"error": "Wrong user name or password."}, status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    websession.start_session(response, user.id)
    return response


@router.post("/logout")
def logout() -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    websession.end_session(response)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Session = Depends(get_db)) -> Response:
    """The projects the user can see."""
    user = user_from_cookie(request, db)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return templates.TemplateResponse(
        request,
        "home.html",
        {"user": user, "projects": projects.visible(db, user), "csrf": websession.csrf_token(request)},
    )
