"""GET /sessions/{id}: the phase a session is in (progress.phase, phase_started_at, phases) and its place in the
queue (queue_position). No worker runs: the tests claim, write and hand back as a worker does (server/lifecycle.py,
worker/phases.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.status import SessionStatus
from server import lifecycle
from server.db import session_scope
from server.models import TrainingSession
from tests.server.api import support
from tests.server.api.support import API, expect
from worker.phases import PhaseTrack


def _get(api: Any, session_id: int) -> dict[str, Any]:
    return expect(api.get(f"{API}/sessions/{session_id}"), 200)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None)


def _claim(session_id: int, worker: str = "w1") -> int:
    with session_scope() as db:
        lease = lifecycle.claim(db, session_id, worker)
    assert lease is not None
    return lease


def test_queued_sessions_count_their_place_in_their_own_queue_oldest_first(api: Any, ml_task: dict[str, Any]) -> None:
    ids = [support.train(api, ml_task["id"])["id"] for _ in range(4)]
    assert [_get(api, i)["queue_position"] for i in ids] == [1, 2, 3, 4]
    with session_scope() as db:  # the second one waits on the other queue: a line of its own
        row = db.get(TrainingSession, ids[1])
        row.queue = "gpu" if row.queue == "cpu" else "cpu"
    assert [_get(api, i)["queue_position"] for i in ids] == [1, 1, 2, 3]
    expect(api.post(f"{API}/sessions/{ids[0]}/abort"), 202)  # an aborted one leaves the line
    _claim(ids[2])  # a started one too
    positions = [_get(api, i)["queue_position"] for i in ids]
    assert positions == [None, 1, None, 1]
    listed = {s["id"]: s["queue_position"] for s in expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)}
    assert [listed[i] for i in ids] == positions


def test_a_session_shows_its_phases_from_queued_to_those_its_worker_records(api: Any, ml_task: dict[str, Any]) -> None:
    sid = support.train(api, ml_task["id"])["id"]
    body = _get(api, sid)
    progress = body["progress"]
    assert progress["phase"] == "queued" and [p["phase"] for p in progress["phases"]] == ["queued"]
    assert _at(progress["phase_started_at"]) == _at(body["queued_at"])
    assert {"epoch", "epochs", "batch", "batches"} <= set(progress)  # api.md's progress, phases added

    lease = _claim(sid)
    body = _get(api, sid)
    assert body["progress"]["phase"] == "starting" and body["queue_position"] is None
    assert _at(body["progress"]["phase_started_at"]) == _at(body["started_at"])  # claimed: the sandbox starts

    track = PhaseTrack()  # what the worker's supervisor stores as the child announces its phases
    for phase in ("starting", "loading_data", "preprocessing"):
        track.enter(phase)
    with session_scope() as db:
        row = db.get(TrainingSession, sid)
        assert lifecycle.write_held(db, sid, lease, {"progress": {**row.progress, **track.fields()}})
    progress = _get(api, sid)["progress"]
    assert progress["phase"] == "preprocessing"
    assert [p["phase"] for p in progress["phases"]] == ["queued", "starting", "loading_data", "preprocessing"]
    assert progress["phase_started_at"] == progress["phases"][-1]["started_at"] == track.phases[-1]["started_at"]

    with session_scope() as db:  # its worker stops: back in the queue, the old run's phases are not shown
        assert lifecycle.hand_back(db, sid, lease, "worker stopped")
    body = _get(api, sid)
    assert [p["phase"] for p in body["progress"]["phases"]] == ["queued"] and body["queue_position"] == 1
    _claim(sid, "w2")  # another worker claims it: starting again, until its own child announces phases
    assert _get(api, sid)["progress"]["phase"] == "starting"
    assert _get(api, sid)["status"] == SessionStatus.RUNNING


def test_the_status_events_carry_the_phase_and_count_the_place_down(api: Any, ml_task: dict[str, Any]) -> None:
    from server.services.session_events import Cursor, SessionStream
    from server.settings import get_settings

    first, second = (support.train(api, ml_task["id"])["id"] for _ in range(2))
    stream = SessionStream(get_settings(), second, Cursor())

    def statuses() -> list[dict[str, Any]]:
        frames = [f for f in stream.poll() if f.startswith("id:") and "\nevent: status\n" in f]
        return [json.loads(f.split("\ndata: ", 1)[1]) for f in frames]

    (status,) = statuses()
    assert (status["status"], status["phase"], status["queue_position"]) == ("queued", "queued", 2)
    assert statuses() == []  # nothing changed: no new event
    expect(api.post(f"{API}/sessions/{first}/abort"), 202)
    (status,) = statuses()
    assert status["queue_position"] == 1 and [p["phase"] for p in status["phases"]] == ["queued"]
