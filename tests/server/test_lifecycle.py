"""The session life cycle (server/lifecycle.py) on a real SQLite database: legal moves, terminal states, fencing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.contracts import ErrorInfo
from core.status import TERMINAL, SessionStatus
from server import lifecycle
from server.db import session_scope
from server.models import (
    Analysis,
    Dataset,
    MLTask,
    Project,
    TrainedModel,
    TrainingSession,
    User,
    utcnow,
)

QUEUED, RUNNING = SessionStatus.QUEUED, SessionStatus.RUNNING


def make_session(status: SessionStatus = QUEUED, lease: int = 0, **fields: Any) -> int:
    """A training session with STATUS and LEASE (and its project, dataset, analysis and ML task); its id."""
    with session_scope() as db:
        task = db.get(MLTask, "t1")
        if task is None:
            owner = User(username="owner")
            project = Project(key="LC", name="LC", owner=owner)
            db.add(project)
            db.flush()
            dataset = Dataset(project_id=project.id, name="d", kind="table", n_rows=1, columns=[], path="d")
            db.add(dataset)
            db.flush()
            analysis = Analysis(id="a1", project_id=project.id, dataset_id=dataset.id, name="a")
            task = MLTask(id="t1", analysis=analysis, name="m", target="y", prediction_type="binary", settings={})
            db.add(task)
            db.flush()
        number = task.next_session_number
        task.next_session_number += 1
        values = {"design": {}, "progress": {}, "history": [], **fields}
        row = TrainingSession(ml_task_id=task.id, number=number, status=status, lease=lease, **values)
        db.add(row)
        db.flush()
        return row.id


def get(session_id: int) -> TrainingSession:
    """A fresh, detached copy of the session row."""
    with session_scope() as db:
        row = db.get(TrainingSession, session_id)
        assert row is not None
        db.expunge(row)
        return row


def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """FN(db, *ARGS) in one committed transaction."""
    with session_scope() as db:
        return fn(db, *args, **kwargs)


@pytest.mark.parametrize(("expected", "to"), [(a, b) for a, moves in lifecycle.LEGAL.items() for b in sorted(moves)])
def test_every_legal_transition_works(sqlite_settings: Any, expected: SessionStatus, to: SessionStatus) -> None:
    sid = make_session(expected, lease=3)
    assert run(lifecycle.transition, sid, expected, to, lease=3)
    assert get(sid).status == to


@pytest.mark.parametrize(
    ("expected", "to"),
    [(QUEUED, SessionStatus.SUCCEEDED), (QUEUED, QUEUED), (RUNNING, RUNNING)]
    + [(end, to) for end in sorted(TERMINAL) for to in SessionStatus],
)
def test_illegal_transitions_are_refused(sqlite_settings: Any, expected: SessionStatus, to: SessionStatus) -> None:
    sid = make_session(expected)
    with pytest.raises(lifecycle.IllegalTransition):
        run(lifecycle.transition, sid, expected, to)
    assert get(sid).status == expected


def test_a_transition_from_a_status_the_session_left_writes_nothing(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=1)
    assert not run(lifecycle.transition, sid, QUEUED, SessionStatus.ABORTED)
    assert get(sid).status == RUNNING


def test_claim_takes_a_queued_session_once_with_a_new_lease(sqlite_settings: Any) -> None:
    sid = make_session(QUEUED, lease=4, attempts=1, error={"type": "old"})
    assert run(lifecycle.claim, sid, "w1") == 5
    row = get(sid)
    assert (row.status, row.worker, row.lease, row.attempts, row.error) == (RUNNING, "w1", 5, 2, None)
    assert row.started_at is not None and row.heartbeat_at is not None
    assert run(lifecycle.claim, sid, "w2") is None  # a duplicate message: the claim is conditional
    assert get(sid).worker == "w1"
    assert run(lifecycle.claim, 999999, "w1") is None


@pytest.mark.parametrize("to", sorted(TERMINAL))
def test_finish_ends_a_running_session(sqlite_settings: Any, to: SessionStatus) -> None:
    sid = make_session(RUNNING, lease=2)
    error = ErrorInfo("ValueError", "bad", cell="build_model", line=3) if to == SessionStatus.FAILED else None
    assert run(lifecycle.finish, sid, 2, to, error=error, interrupted=True)
    row = get(sid)
    assert (row.status, row.lease, row.interrupted) == (to, 2, True)
    assert row.ended_at is not None
    assert row.error == (error.as_dict() if error else None)


def test_finish_records_the_trained_model_in_the_same_transaction(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=1)
    with session_scope() as db:
        project_id = db.get(MLTask, "t1").analysis.project_id  # type: ignore[union-attr]
    model = TrainedModel(
        id="LC-a1-t1-s1",
        session_id=sid,
        project_id=project_id,
        analysis_id="a1",
        ml_task_id="t1",
        prediction_type="binary",
        metric="auc",
        metrics={},
        history=[],
        input_shapes={},
        n_classes=2,
        preprocessing={},
        path="m.keras",
    )
    assert run(lifecycle.finish, sid, 1, SessionStatus.SUCCEEDED, model=model)
    assert get(sid).trained_model_id == "LC-a1-t1-s1"
    with session_scope() as db:
        assert db.get(TrainedModel, "LC-a1-t1-s1") is not None


def test_finish_refuses_a_status_that_is_not_an_end(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=1)
    with pytest.raises(lifecycle.IllegalTransition):
        run(lifecycle.finish, sid, 1, QUEUED)
    assert get(sid).status == RUNNING


def test_hand_back_requeues_with_a_new_lease(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=2, worker="w1", published_at=utcnow(), progress={"epoch": 3})
    assert run(lifecycle.hand_back, sid, 2, "worker stopped")
    row = get(sid)
    assert (row.status, row.worker, row.lease, row.published_at) == (QUEUED, None, 3, None)
    assert row.progress == {"epoch": 3, "requeued": "worker stopped"}
    # The old holder is fenced off: nothing it writes lands any more.
    assert not run(lifecycle.write_held, sid, 2, {"progress": {"epoch": 9}})
    assert not run(lifecycle.finish, sid, 2, SessionStatus.SUCCEEDED)
    assert not run(lifecycle.hand_back, sid, 2, "again")
    assert get(sid).status == QUEUED and get(sid).lease == 3
    assert run(lifecycle.claim, sid, "w2") == 4  # another worker takes it


def test_fail_lost_and_abort_lost_take_the_lease(sqlite_settings: Any) -> None:
    failed, aborted = make_session(RUNNING, lease=1), make_session(RUNNING, lease=5)
    assert run(lifecycle.fail_lost, failed, 1, "Worker w1 was lost.")
    row = get(failed)
    assert (row.status, row.lease) == (SessionStatus.FAILED, 2)
    assert row.error == {
        "type": "worker_lost",
        "message": "Worker w1 was lost.",
        "cell": None,
        "line": None,
        "traceback": None,
    }
    assert run(lifecycle.abort_lost, aborted, 5)
    row = get(aborted)
    assert (row.status, row.lease) == (SessionStatus.ABORTED, 6)
    assert row.ended_at is not None
    assert not run(lifecycle.finish, aborted, 5, SessionStatus.SUCCEEDED)  # the lost worker's late write


def test_abort_ends_a_queued_session_and_asks_a_running_one(sqlite_settings: Any) -> None:
    queued, running = make_session(QUEUED), make_session(RUNNING, lease=1)
    with session_scope() as db:
        assert lifecycle.abort(db, db.get(TrainingSession, queued))  # type: ignore[arg-type]
        assert not lifecycle.abort(db, db.get(TrainingSession, running))  # type: ignore[arg-type]
    row = get(queued)
    assert (row.status, row.cancel_request) == (SessionStatus.ABORTED, "abort")
    assert row.ended_at is not None
    row = get(running)
    assert (row.status, row.cancel_request) == (RUNNING, "abort")  # its worker kills the child and ends it


@pytest.mark.parametrize("end", sorted(TERMINAL))
def test_a_terminal_session_never_changes(sqlite_settings: Any, end: SessionStatus) -> None:
    sid = make_session(end, lease=1, ended_at=utcnow() - timedelta(hours=1))
    before = get(sid)
    assert run(lifecycle.claim, sid, "w1") is None
    assert not run(lifecycle.hand_back, sid, 1, "worker lost")
    assert not run(lifecycle.finish, sid, 1, SessionStatus.SUCCEEDED)
    assert not run(lifecycle.fail_lost, sid, 1, "lost")
    assert not run(lifecycle.abort_lost, sid, 1)
    assert not run(lifecycle.write_held, sid, 1, {"progress": {"epoch": 1}})
    with session_scope() as db:
        assert not lifecycle.abort(db, db.get(TrainingSession, sid))  # type: ignore[arg-type]
    after = get(sid)
    assert (after.status, after.lease, after.ended_at, after.error) == (end, 1, before.ended_at, before.error)


def test_a_stale_lease_cannot_write(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=7, progress={"epoch": 1})
    assert not run(lifecycle.write_held, sid, 6, {"progress": {"epoch": 2}})
    assert not run(lifecycle.finish, sid, 6, SessionStatus.FAILED, error=ErrorInfo("x", "y"))
    assert not run(lifecycle.hand_back, sid, 6, "worker stopped")
    assert not run(lifecycle.fail_lost, sid, 6, "lost")
    assert not run(lifecycle.abort_lost, sid, 6)
    row = get(sid)
    assert (row.status, row.lease, row.progress) == (RUNNING, 7, {"epoch": 1})
    assert run(lifecycle.write_held, sid, 7, {"progress": {"epoch": 2}})  # the holder still can
    assert get(sid).progress == {"epoch": 2}


def test_write_held_never_writes_the_status(sqlite_settings: Any) -> None:
    sid = make_session(RUNNING, lease=1)
    with pytest.raises(lifecycle.IllegalTransition):
        run(lifecycle.write_held, sid, 1, {"status": SessionStatus.SUCCEEDED})
    assert get(sid).status == RUNNING
