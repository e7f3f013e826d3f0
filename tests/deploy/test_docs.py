"""The docs stay true to the code: deploy.md (visibility timeout sizing, services and metric names) and
configuration.md (every FITSTUDIO_* variable the code names, each setting with its default)."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import ROOT

DEPLOY = ROOT / "docs" / "deploy.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
CODE_FOLDERS = ("core", "server", "worker", "fitstudio", "webui")


def test_visibility_timeout_outlasts_the_longest_training() -> None:
    from server.broker import VISIBILITY_TIMEOUT_S
    from server.schemas.settings import TrainingSettings

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


def configuration_rows() -> dict[str, str]:
    """docs/configuration.md's table rows: `FITSTUDIO_NAME` -> its default cell."""
    rows: dict[str, str] = {}
    for line in CONFIGURATION.read_text().splitlines():
        found = re.match(r"\| `(FITSTUDIO_[A-Z0-9_]+)` \| ([^|]*) \|", line)
        if found:
            rows[found.group(1)] = found.group(2).strip()
    return rows


def test_configuration_doc_gives_every_setting_with_its_default() -> None:
    from server.settings import Settings

    rows = configuration_rows()
    for name, field in Settings.model_fields.items():
        variable = f"FITSTUDIO_{name.upper()}"
        assert variable in rows, f"{variable} (server/settings.py) is missing from docs/configuration.md"
        default, cell = field.default, rows[variable]
        if isinstance(default, bool):
            assert cell == str(default).lower(), (variable, cell, default)
        elif isinstance(default, int | float):
            assert float(cell) == default, (variable, cell, default)
        elif isinstance(default, str):
            assert default in cell, (variable, cell, default)
        elif isinstance(default, list) and default:
            assert cell.strip("`") == ",".join(default), (variable, cell, default)


def test_configuration_doc_gives_every_variable_the_code_names() -> None:
    """Settings fields and the variables read through os.environ (FITSTUDIO_WORKER_GPUS) alike."""
    named: set[str] = set()
    for folder in CODE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            named |= set(re.findall(r"FITSTUDIO_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    missing = sorted(named - set(configuration_rows()))
    assert not missing, f"named in the code, missing from docs/configuration.md: {missing}"
