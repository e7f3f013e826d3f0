"""The API application: REST API under /api/v1, the service endpoints, the middleware. The web UI adds its pages
on top of it (webui/app.py): the server never imports the web UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.api import (
    analyses,
    audit,
    compare,
    datasets,
    docs_assets,
    errors,
    evaluations,
    events,
    folders,
    jobs,
    mltasks,
    projects,
    saved_models,
    service,
    sessions,
    tokens,
    trained_models,
    weights,
)
from server.api.auth_first import AuthFirstMiddleware
from server.api.body_limit import BodyLimitMiddleware
from server.api.hosts import AllowedHostsMiddleware
from server.api.path_guard import PathGuardMiddleware
from server.api.security_headers import SecurityHeadersMiddleware
from server.observability.api import install as install_observability
from server.services import parse_process
from server.services.background import Reconciler
from server.settings import get_settings


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Run the reconciler while the API serves; start the uploads' fork server."""
    parse_process.start(get_settings())
    reconciler = Reconciler()
    reconciler.start()
    try:
        yield
    finally:
        reconciler.stop()


def create_api() -> FastAPI:
    """Build the API (no web pages) from the current settings."""
    settings = get_settings()
    settings.ensure_dirs()
    app = FastAPI(
        lifespan=lifespan,
        title="fitstudio",
        version="0.1.0",
        description="Train Keras models as a service: datasets, ML tasks, training sessions, models.",
        docs_url=None,  # docs_assets serves /docs and /redoc from packaged assets, not FastAPI's CDN
        redoc_url=None,
    )
    errors.install(app)
    docs_assets.install(app)
    # One router per resource; managed folders and the weights store are data.md's.
    resources = (projects, datasets, analyses, mltasks, sessions, events, trained_models, saved_models, tokens, audit)
    for module in (*resources, compare, folders, weights, jobs, evaluations):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(service.api_router, prefix="/api/v1")
    app.include_router(service.router)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AuthFirstMiddleware)
    app.add_middleware(PathGuardMiddleware)
    app.add_middleware(AllowedHostsMiddleware, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeadersMiddleware)  # CSP, X-Frame-Options, nosniff on every answer, refusals too
    # Observability (issue 8): GET /metrics, request-latency middleware, JSON logs when FITSTUDIO_LOG_FORMAT=json.
    install_observability(app)
    return app
