"""ASGI middleware: API request latency by route template and method (per API process)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.observability.logs import current_scope

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: a few ms for a session read up to the long-lived event streams.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class HttpMetrics:
    """The request histogram and counter of one app, registered in its registry."""

    latency: Histogram
    requests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> HttpMetrics:
        """Register the HTTP metrics in REGISTRY."""
        latency = Histogram(
            "fitstudio_http_request_duration_seconds",
            "API request latency (until the response is sent) by route template and method",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        requests = Counter(
            "fitstudio_http_requests",
            "API requests by route template, method and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        return cls(latency, requests)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (e.g. /api/v1/sessions/{session_id}), or 'unmatched'."""
    # FastAPI may hand over the route as declared in its router (/sessions/{session_id}), without the prefix it
    # was included under; the prefix is then the part of the request path before the template's segments.
    route = scope.get("route")
    template = getattr(route, "path", None) if route is not None else None
    if template is None:
        return "unmatched"
    template = str(template)
    if ":path}" in template or hasattr(route, "routes"):  # variable-length templates and mounts: as declared
        return template or "/"
    tail = [seg for seg in template.split("/") if seg]
    actual = [seg for seg in str(scope.get("path", "")).split("/") if seg]
    if len(actual) < len(tail):
        return template or "/"
    prefix = actual[: len(actual) - len(tail)]
    for literal, seen in zip(tail, actual[len(prefix) :], strict=True):
        if "{" not in literal and literal != seen:
            return template or "/"
    return "/" + "/".join(prefix + tail)


class RequestMetricsMiddleware:
    """Time every HTTP request and count it by route template, method and status (bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics):
        """Wrap APP, recording into METRICS."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then observe its duration under the route the router matched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = current_scope.set(scope)
        status = 500  # what the server answers when the app raises before starting a response
        start = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - start
            method = scope.get("method", "GET") if scope.get("method") in METHODS else "OTHER"
            route = route_template(scope)
            self.metrics.latency.labels(method, route).observe(elapsed)
            self.metrics.requests.labels(method, route, str(status)).inc()
            current_scope.reset(token)
