"""GET /metrics: sessions by status, queue depths (SQL and Redis), training durations, API request latency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api, make_api

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api) -> Samples:
    """GET /metrics (no token: Prometheus scrapes it like /healthz) as {(sample name, labels): value}."""
    r = api.client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """One sample's value, or None when it is not exposed."""
    return samples.get((name, frozenset(labels.items())))


def submit_cpu_sessions(api: Api, csv: bytes, count: int) -> list[int]:
    """A project, a breast-cancer ML task on the cpu queue, COUNT submitted (queued, no worker) sessions."""
    assert api.post("/api/v1/projects", json={"key": "MET", "name": "metrics"}).status_code == 201
    r = api.upload_csv("MET", "bc", csv)
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/projects/MET/analyses", json={"dataset_id": r.json()["id"], "name": "a"})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/analyses/{r.json()['id']}/ml-tasks", json={"target": "diagnosis"})
    assert r.status_code == 201, r.text
    task = r.json()
    settings: dict[str, Any] = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["epochs"] = 1
    assert api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    ids = []
    for _ in range(count):
        r = api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={})
        assert r.status_code == 202, r.text
        ids.append(int(r.json()["id"]))
    return ids


def end_session(session_id: int, status: str, seconds: float) -> None:
    """Mark a session ended with STATUS after SECONDS of training (as a worker would have)."""
    from server.db import session_scope
    from server.models import TrainingSession, utcnow

    with session_scope() as db:
        row = db.get(TrainingSession, session_id)
        assert row is not None
        now = utcnow()
        row.status, row.started_at, row.ended_at = status, now - timedelta(seconds=seconds), now


@pytest.mark.parametrize("backend", ["sqlite_settings", "pg_redis_settings"])
def test_metrics_from_sql_and_broker(backend: str, request: pytest.FixtureRequest, demo_csv: bytes) -> None:
    settings = request.getfixturevalue(backend)
    api = make_api(settings)
    ids = submit_cpu_sessions(api, demo_csv, 3)
    end_session(ids[0], "succeeded", 90)
    end_session(ids[1], "failed", 5)
    samples = scrape(api)

    assert value(samples, "fitstudio_sql_up") == 1
    for status, n in {"queued": 1, "running": 0, "succeeded": 1, "failed": 1, "aborted": 0}.items():
        assert value(samples, "fitstudio_sessions", status=status) == n, status
    assert value(samples, "fitstudio_queue_depth", queue="cpu") == 1
    assert value(samples, "fitstudio_queue_depth", queue="gpu") == 0

    hist = "fitstudio_training_duration_seconds"
    ok = {"status": "succeeded", "queue": "cpu"}
    assert value(samples, f"{hist}_count", **ok) == 1
    assert value(samples, f"{hist}_sum", **ok) == pytest.approx(90, abs=1)
    assert value(samples, f"{hist}_bucket", le="60.0", **ok) == 0
    assert value(samples, f"{hist}_bucket", le="120.0", **ok) == 1
    assert value(samples, f"{hist}_bucket", le="+Inf", **ok) == 1
    assert value(samples, f"{hist}_bucket", le="10.0", status="failed", queue="cpu") == 1

    broker = value(samples, "fitstudio_broker_queue_length", queue="cpu")
    if backend == "pg_redis_settings":
        assert broker == 3  # the broker still holds all three messages: nobody consumed them
        assert value(samples, "fitstudio_broker_queue_length", queue="gpu") == 0
    else:
        assert broker is None  # the embedded broker has no cheap length


def test_request_latency_by_route_template_and_method(api: Api) -> None:
    assert api.get("/api/v1/projects").status_code == 200
    assert api.get("/api/v1/sessions/123456").status_code == 404
    assert api.get("/api/v1/sessions/654321").status_code == 404
    assert api.client.get("/no/such/page").status_code == 404
    samples = scrape(api)
    count = "fitstudio_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/api/v1/projects") == 1
    assert value(samples, count, method="GET", route="/api/v1/sessions/{session_id}") == 2
    assert value(samples, count, method="GET", route="unmatched") == 1
    total = "fitstudio_http_requests_total"
    assert value(samples, total, method="GET", route="/api/v1/sessions/{session_id}", status="404") == 2
    assert value(samples, total, method="GET", route="/api/v1/projects", status="200") == 1
    assert not any("123456" in dict(labels).get("route", "") for _name, labels in samples)
    assert value(samples, "process_cpu_seconds_total") is not None


def test_metrics_report_sql_down_instead_of_failing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.observability import metrics

    def broken(_engine: object) -> list[tuple[str, str, int]]:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(metrics, "session_counts", broken)
    samples = scrape(api)
    assert value(samples, "fitstudio_sql_up") == 0
    assert value(samples, "fitstudio_sessions", status="queued") is None


def test_duration_sql_compiles_for_each_dialect() -> None:
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    from server.observability.metrics import duration_expr

    assert "julianday" in str(duration_expr("sqlite").compile(dialect=sqlite.dialect()))
    assert "EXTRACT(epoch" in str(duration_expr("postgresql").compile(dialect=postgresql.dialect()))
    assert "timestampdiff" in str(duration_expr("mysql").compile(dialect=mysql.dialect())).lower()


def test_route_template_adds_the_prefix_a_router_was_included_under() -> None:
    from types import SimpleNamespace

    from server.observability.http import route_template

    full = "/api/v1/sessions/{session_id}"
    declared = SimpleNamespace(path="/sessions/{session_id}")
    assert route_template({"route": declared, "path": "/api/v1/sessions/5"}) == full
    assert route_template({"route": SimpleNamespace(path=full), "path": "/api/v1/sessions/5"}) == full
    assert route_template({"route": SimpleNamespace(path="/static", routes=[]), "path": "/static/app.css"}) == "/static"
    assert route_template({"route": SimpleNamespace(path="/a/{x}"), "path": "/b/1"}) == "/a/{x}"
    assert route_template({"route": SimpleNamespace(path="/"), "path": "/"}) == "/"
    assert route_template({"path": "/nothing/here"}) == "unmatched"


def test_metrics_token_when_set_is_required(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.settings import get_settings

    monkeypatch.setenv("FITSTUDIO_METRICS_TOKEN", "scrape-secret")
    get_settings.cache_clear()
    try:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic scrape-secret"},
            {"Authorization": f"Bearer {api.token}"},
        ):  # a user's API token is not the scrape token
            r = api.client.get("/metrics", headers=headers)
            assert r.status_code == 401, (headers, r.status_code)
            assert r.json()["code"] == "unauthorized" and "FITSTUDIO_METRICS_TOKEN" in r.json()["detail"]
            assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
        r = api.client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert r.status_code == 200 and "fitstudio_" in r.text
    finally:
        monkeypatch.delenv("FITSTUDIO_METRICS_TOKEN")
        get_settings.cache_clear()
    assert api.client.get("/metrics").status_code == 200  # unset again: open, like /healthz
