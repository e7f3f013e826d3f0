"""An ML task's results as the results page lists them: durations, the metric shown, one session's detail."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from server.models import utcnow
from server.services import results


def session(**values: Any) -> Any:
    base = {
        "id": 7,
        "number": 3,
        "status": "queued",
        "started_at": None,
        "ended_at": None,
        "history": [],
        "progress": {},
        "error": None,
        "design": {},
        "trained_model_id": None,
        "interrupted": False,
        "worker": None,
    }
    return SimpleNamespace(**{**base, **values})


def test_a_duration_runs_until_the_end_or_now_while_running() -> None:
    start = utcnow() - timedelta(seconds=100)
    assert results.duration(session()) is None
    assert results.duration(session(status="succeeded", started_at=start, ended_at=start + timedelta(seconds=5))) == 5
    assert results.duration(session(status="running", started_at=start), now=start + timedelta(seconds=9)) == 9
    assert results.duration(session(status="failed", started_at=start)) is None  # ended without an end time


def test_the_metric_is_the_kept_epochs_for_a_model_else_the_latest_epochs() -> None:
    row = session(history=[{"Test AUC": 0.5}, {"Test AUC": 0.6}])
    assert results.metric_value(row, "Test AUC", None) == 0.6
    assert results.metric_value(row, "Test AUC", {"Test AUC": 0.9}) == 0.9
    assert results.metric_value(session(), "Test AUC", None) is None


def test_the_detail_of_a_failed_session_shows_the_frozen_cell_it_failed_in() -> None:
    design = {"settings": {"metric": "ROC AUC", "code": {"architecture": "def build_model(): ..."}}}
    error = {"type": "NameError", "message": "x", "cell": "architecture", "line": 1}
    detail = results.detail(session(status="failed", design=design, error=error))
    assert detail["live"] is False and detail["metric"] == "ROC AUC"
    assert detail["error"] == error and detail["error_code"] == "def build_model(): ..."
    assert results.detail(session(status="running"))["live"] is True
    assert results.detail(session())["error_code"] is None and results.detail(session())["started_at"] is None
