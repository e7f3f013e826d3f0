"""The whole service as one ASGI app: the API (server/main.py) with the web pages, TensorBoard and static files."""

from __future__ import annotations

from fastapi import FastAPI

from server.main import create_api
from webui import tensorboard
from webui.routes import mount_static
from webui.routes import router as web_router


def create_app() -> FastAPI:
    """The API plus the web UI, from the current settings (what `fitstudio up` and `fitstudio api` serve)."""
    app = create_api()
    app.include_router(web_router)
    tensorboard.install(app)  # TensorBoard behind the login: /sessions/{id}/tensorboard/, /ml-tasks/{id}/tensorboard/
    mount_static(app)
    return app
