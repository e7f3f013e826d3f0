"""The whole service as one ASGI app: the API (server/main.py) with the web pages, TensorBoard and static files."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.api.deps import user_from_cookie
from server.db import session_scope
from server.errors import ApiError
from server.main import create_api
from server.models import User
from webui import tensorboard
from webui.routes import mount_static
from webui.routes import router as web_router
from webui.web import HERE, render, wants_json

FAVICON = HERE / "static" / "favicon.svg"


def create_app() -> FastAPI:
    """The API plus the web UI, from the current settings (what `fitstudio up` and `fitstudio api` serve)."""
    app = create_api()
    app.include_router(web_router)
    tensorboard.install(app)  # TensorBoard behind the login: /sessions/{id}/tensorboard/, /ml-tasks/{id}/tensorboard/
    mount_static(app)
    install_favicon(app)
    install_html_not_found(app)
    return app


def install_favicon(app: FastAPI) -> None:
    """/favicon.ico: browsers ask for it on pages without a <link rel="icon"> (/docs's assets, raw API answers)."""

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def wants_html(request: Request) -> bool:
    """True for a browser asking for a page: it accepts text/html, and the path is not the API's."""
    if request.url.path == "/api" or request.url.path.startswith("/api/") or wants_json(request):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_html_not_found(app: FastAPI) -> None:
    """An unknown URL answers the styled 404 page to a browser; API clients keep the {detail, code} JSON."""
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        if not (isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and wants_html(request)):
            return await json_handler(request, exc)  # type: ignore[no-any-return]
        request.state.user = await run_in_threadpool(_page_user, request)  # the header shows who is logged in
        error = ApiError(404, "not_found", f"There is no page at {request.url.path}.")
        return render(request, "error.html", {"error": error}, status_code=404)

    app.add_exception_handler(StarletteHTTPException, not_found)


def _page_user(request: Request) -> User | None:
    """The logged-in user of the request's cookie, or None (an unknown URL needs no login)."""
    with session_scope() as db:  # its sessions keep loaded attributes: the template reads them after it closes
        return user_from_cookie(request, db)
