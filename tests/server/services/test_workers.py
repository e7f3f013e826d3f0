"""The workers list: newest heartbeat first, each one's state from worker_lost_after_s, sessions the caller may read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.db import session_scope
from server.models import WorkerRecord, utcnow
from server.services import auth, workers


def _worker(name: str, seconds_ago: float, sessions: list[int] | None = None) -> WorkerRecord:
    return WorkerRecord(
        name=name,
        hostname="h",
        queues=["cpu"],
        gpus=[],
        current_sessions=sessions or [],
        last_heartbeat=utcnow() - timedelta(seconds=seconds_ago),
        accepts_trainings=True,
    )


def test_the_listing_orders_by_heartbeat_and_takes_silence_from_the_setting(sqlite_settings: Any) -> None:
    settings = sqlite_settings.model_copy(update={"worker_lost_after_s": 10.0})
    with session_scope() as db:
        db.add_all([_worker("a@h", 5), _worker("b@h", 1), _worker("c@h", 30, sessions=[424242])])
        user = auth.create_user(db, "someone")
    with session_scope() as db:
        rows = workers.listing(db, settings, db.merge(user))
        assert [r["row"].name for r in rows] == ["b@h", "a@h", "c@h"]
        assert [r["state"] for r in rows] == ["alive", "alive", "silent"]  # 30 s > 10 s, though under 60 s
        assert rows[2]["sessions"] == [] and rows[2]["others"] == 1  # no such session: counted, never named
        assert 29 < rows[2]["age"] < 60
        assert [w.name for w in workers.all_rows(db)] == ["a@h", "b@h", "c@h"]
