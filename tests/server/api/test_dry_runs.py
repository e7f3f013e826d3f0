"""Dry runs are bounded: a short wait for the worker, then 202 and a URL to poll; waiting requests are capped."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import configure
from tests.server.api.support import API, expect, expect_error

OK_RESULT = {"ok": True, "summary": "Model: x", "loss": 0.25, "output_width": 2, "params": 10}
FAILED_RESULT = {"ok": False, "error": {"type": "KeyError", "message": "'boom'", "cell": "architecture", "line": 7}}


def finish_next_dry_run(result: dict[str, Any], after_s: float = 0.3) -> threading.Thread:
    """Play the worker: mark the next queued dry run done with RESULT after AFTER_S."""
    from sqlalchemy import select

    from server.db import session_scope
    from server.models import DryRun, utcnow

    def work() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(after_s)  # pacing on purpose: the fake worker answers AFTER_S later, so the API has to wait
            with session_scope() as db:
                row = db.scalar(select(DryRun).where(DryRun.status == "queued").order_by(DryRun.id))
                if row is not None:
                    row.status, row.result, row.ended_at = "done", result, utcnow()
                    return

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def short_wait(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dry runs wait half a second for a worker."""
    configure(monkeypatch, api.settings.home, dry_run_wait_s="0.5")


def validate(api: Any, task_id: str, token: str | None = None) -> Any:
    return api.post(f"{API}/ml-tasks/{task_id}/validate", params={"dry_run": "true"}, json={}, token=token)


def test_a_dry_run_a_worker_finishes_in_time_answers_200(api: Any, ml_task: dict[str, Any], monkeypatch: Any) -> None:
    configure(monkeypatch, api.settings.home, dry_run_wait_s="10")
    finish_next_dry_run(OK_RESULT).join(0)
    body = expect(validate(api, ml_task["id"]), 200)
    assert body == {"ok": True, "errors": [], "warnings": [], "dry_run": OK_RESULT}
    finish_next_dry_run(FAILED_RESULT)
    body = expect(validate(api, ml_task["id"]), 200)
    assert body["ok"] is False and body["errors"][0]["cell"] == "architecture" and body["errors"][0]["line"] == 7


def test_without_a_worker_a_dry_run_answers_202_and_is_polled(
    api: Any, project: str, ml_task: dict[str, Any], short_wait: None
) -> None:
    started = time.monotonic()
    r = validate(api, ml_task["id"])
    assert r.status_code == 202, r.text
    assert time.monotonic() - started < 5
    body = r.json()
    assert body["ok"] is None and body["errors"] == [] and body["status"] == "queued"
    assert r.headers["location"] == body["poll_url"] == f"{API}/dry-runs/{body['dry_run_id']}"
    polled = expect(api.get(body["poll_url"]), 200)
    assert polled["status"] == "queued" and polled["ok"] is None and polled["ml_task_id"] == ml_task["id"]
    reader = api.user("rhea", project, "reader")
    finish_next_dry_run(OK_RESULT, after_s=0).join(10)
    polled = expect(api.get(body["poll_url"], token=reader), 200)
    assert polled["status"] == "done" and polled["ok"] is True and polled["dry_run"] == OK_RESULT
    stranger = api.user("stan")
    expect_error(api.get(body["poll_url"], token=stranger), 404, "not_found")
    expect_error(api.get(f"{API}/dry-runs/99999999999999999999999"), 404, "not_found")
    expect_error(api.get(f"{API}/dry-runs/{body['dry_run_id'] + 100}"), 404, "not_found")


def test_waiting_dry_runs_are_capped_per_user_and_per_process() -> None:
    from server.errors import ApiError
    from server.services.dry_run import WaitSlots

    settings = SimpleNamespace(dry_run_max_per_user=2, dry_run_max_waiting=3)
    slots = WaitSlots()
    slots.acquire(1, settings)  # type: ignore[arg-type]
    slots.acquire(1, settings)  # type: ignore[arg-type]
    with pytest.raises(ApiError) as per_user:
        slots.acquire(1, settings)  # type: ignore[arg-type]
    assert (per_user.value.status, per_user.value.code) == (429, "too_many_dry_runs")
    slots.acquire(2, settings)  # type: ignore[arg-type]
    with pytest.raises(ApiError) as per_process:
        slots.acquire(3, settings)  # type: ignore[arg-type]
    assert (per_process.value.status, per_process.value.code) == (503, "too_many_dry_runs")
    slots.release(1)
    slots.acquire(3, settings)  # type: ignore[arg-type]
    assert slots.waiting() == 3
    for user in (1, 2, 3):
        slots.release(user)
    assert slots.waiting() == 0


def test_a_dry_run_with_no_broker_is_503_and_leaves_nothing(
    api: Any, ml_task: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from server import broker
    from server.db import session_scope
    from server.models import DryRun

    class NoBroker:
        def send_task(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(broker, "app_for", lambda settings: NoBroker())
    plain = TestClient(api.client.app)  # the checked client refuses every 5xx; this 503 is the answer we want
    r = plain.post(f"{API}/ml-tasks/{ml_task['id']}/validate?dry_run=true", json={}, headers=api.headers())
    expect_error(r, 503, "broker_unavailable")
    with session_scope() as db:
        assert db.scalar(select(func.count(DryRun.id))) == 0
