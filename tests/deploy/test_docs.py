"""docs/deploy.md stays true to the code: visibility timeout sizing, services and metric names."""

from __future__ import annotations

from typing import Any

from tests.helpers import ROOT

DEPLOY = ROOT / "docs" / "deploy.md"


def test_visibility_timeout_outlasts_the_longest_training() -> None:
    from server.schemas.settings import TrainingSettings
    from server.broker import VISIBILITY_TIMEOUT_S

    cap = max(m.le for m in TrainingSettings.model_fields["time_limit_s"].metadata if hasattr(m, "le"))
    assert VISIBILITY_TIMEOUT_S > cap
    text = DEPLOY.read_text()
    assert f"{VISIBILITY_TIMEOUT_S // 86400} days" in text and f"({cap // 86400} days)" in text


def test_deploy_doc_names_every_service_and_metric(compose: dict[str, Any]) -> None:
    text = DEPLOY.read_text()
    for service in compose["services"]:
        assert f"`{service}`" in text, service
    for metric in (
        "fitstudio_sessions",
        "fitstudio_queue_depth",
        "fitstudio_broker_queue_length",
        "fitstudio_training_duration_seconds",
        "fitstudio_http_request_duration_seconds",
        "fitstudio_http_requests_total",
        "fitstudio_sql_up",
    ):
        assert f"`{metric}" in text, metric
    for topic in (
        "fitstudio up",
        "fitstudio db upgrade",
        "pg_dump",
        "FITSTUDIO_ARTIFACT_ROOT",
        "FITSTUDIO_SECRET_KEY",
        "FITSTUDIO_DATABASE_URL",
        "FITSTUDIO_BROKER_URL",
        "NFS",
        "FITSTUDIO_LOG_FORMAT=json",
    ):
        assert topic in text, topic
