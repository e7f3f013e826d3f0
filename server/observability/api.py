"""The API side of observability: GET /metrics, the request-latency middleware, JSON logs when asked for."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from server.observability.http import HttpMetrics, RequestMetricsMiddleware
from server.observability.logs import configure_api_logging
from server.observability.metrics import FitstudioCollector


def make_registry() -> tuple[CollectorRegistry, HttpMetrics]:
    """A registry of its own per app (tests build many apps): process, SQL-derived and HTTP metrics."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(FitstudioCollector())
    return registry, HttpMetrics.create(registry)


def install(app: FastAPI) -> None:
    """Add GET /metrics, the request-latency middleware, and JSON logs when FITSTUDIO_LOG_FORMAT=json."""
    registry, http_metrics = make_registry()
    app.state.metrics_registry = registry

    def metrics() -> Response:
        """Prometheus text exposition of fitstudio's metrics."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], tags=["service"], summary="Prometheus metrics")
    app.add_middleware(RequestMetricsMiddleware, metrics=http_metrics)
    configure_api_logging()
