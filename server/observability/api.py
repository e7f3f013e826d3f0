"""The API side of observability: GET /metrics, the request-latency middleware, JSON logs when asked for."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from server.errors import ApiError
from server.observability.http import HttpMetrics, RequestMetricsMiddleware
from server.observability.logs import configure_api_logging
from server.observability.metrics import FitstudioCollector
from server.settings import get_settings


def make_registry() -> tuple[CollectorRegistry, HttpMetrics]:
    """A registry of its own per app (tests build many apps): process, SQL-derived and HTTP metrics."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(FitstudioCollector())
    return registry, HttpMetrics.create(registry)


def check_metrics_token(request: Request) -> None:
    """401 unless FITSTUDIO_METRICS_TOKEN is unset or the request carries it as a bearer token."""
    expected = get_settings().metrics_token
    if not expected:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "GET /metrics needs 'Authorization: Bearer <FITSTUDIO_METRICS_TOKEN>' "
            "(Prometheus: authorization.credentials in the scrape config).",
        )


def install(app: FastAPI) -> None:
    """Add GET /metrics, the request-latency middleware, and JSON logs when FITSTUDIO_LOG_FORMAT=json."""
    registry, http_metrics = make_registry()
    app.state.metrics_registry = registry

    def metrics(request: Request) -> Response:
        """Prometheus text exposition of fitstudio's metrics (behind FITSTUDIO_METRICS_TOKEN when it is set)."""
        check_metrics_token(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["service"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
    )
    app.add_middleware(RequestMetricsMiddleware, metrics=http_metrics)
    configure_api_logging()
