"""The reconciler's SQL pass (server/services/reconciler.py) on SQLite: lost sessions and lost messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.status import SessionStatus
from server.db import session_scope
from server.models import TrainingSession, WorkerRecord, utcnow
from server.services import reconciler
from tests.server.test_lifecycle import get, make_session

LONG_AGO = timedelta(hours=1)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The session ids the reconciler publishes (the broker is not needed)."""
    out: list[int] = []

    def _publish(row: TrainingSession) -> bool:
        out.append(row.id)
        return True

    monkeypatch.setattr(reconciler.session_service, "publish", _publish)
    return out


def lost(attempts: int = 1, **fields: Any) -> int:
    """A running session whose worker w1 stopped beating an hour ago."""
    when = utcnow() - LONG_AGO
    return make_session(
        SessionStatus.RUNNING, lease=1, worker="w1", attempts=attempts, started_at=when, heartbeat_at=when, **fields
    )


def test_a_lost_session_is_requeued_then_failed(sqlite_settings: Any, published: list[int]) -> None:
    sid = lost(attempts=1)
    assert reconciler.reconcile(sqlite_settings)["requeued"] == [sid]
    row = get(sid)
    assert (row.status, row.lease, row.progress["requeued"]) == (SessionStatus.QUEUED, 2, "worker lost")
    assert published == [sid]

    last = lost(attempts=sqlite_settings.max_attempts)
    assert reconciler.reconcile(sqlite_settings)["failed"] == [last]
    row = get(last)
    assert (row.status, row.lease, row.error["type"]) == (SessionStatus.FAILED, 2, "worker_lost")
    assert "Worker w1 was lost" in row.error["message"]


def test_a_lost_session_asked_to_abort_ends_aborted(sqlite_settings: Any, published: list[int]) -> None:
    sid = lost(cancel_request="abort")
    done = reconciler.reconcile(sqlite_settings)
    assert done["requeued"] == done["failed"] == []
    assert get(sid).status == SessionStatus.ABORTED
    assert published == []


def test_a_session_whose_worker_beats_is_left_alone(sqlite_settings: Any, published: list[int]) -> None:
    sid = lost()
    with session_scope() as db:
        db.add(WorkerRecord(name="w1", hostname="h", queues=["cpu"], gpus=[], started_at=utcnow() - 2 * LONG_AGO))
    assert reconciler.reconcile(sqlite_settings) == {"requeued": [], "failed": [], "republished": []}
    assert get(sid).status == SessionStatus.RUNNING


def test_queued_sessions_missing_from_the_broker_are_published_again(
    sqlite_settings: Any, published: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing, present = (make_session(queued_at=utcnow() - LONG_AGO) for _ in range(2))
    monkeypatch.setattr(reconciler.broker_inspect, "pending_sessions", lambda _settings, _queues: {present})
    assert reconciler.reconcile(sqlite_settings)["republished"] == [missing]
    assert published == [missing]
