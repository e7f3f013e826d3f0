"""The reconciler's pass over jobs (server/services/job_reconciler.py) on SQLite: lost and unpublished jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.db import session_scope
from server.models import Job, Project, User, WorkerRecord, utcnow
from server.services import job_reconciler, reconciler

LONG_AGO = timedelta(hours=1)


def make_job(status: str = "running", **fields: Any) -> int:
    """A scoring job with STATUS in project JR (made on first use); its id."""
    with session_scope() as db:
        project = db.query(Project).filter_by(key="JR").one_or_none()
        if project is None:
            project = Project(key="JR", name="JR", owner=User(username="owner"))
            db.add(project)
            db.flush()
        row = Job(project_id=project.id, kind="score", status=status, version_id="v1", **fields)
        db.add(row)
        db.flush()
        return row.id


def get(job_id: int) -> Job:
    with session_scope() as db:
        row = db.get(Job, job_id)
        assert row is not None
        db.expunge(row)
        return row


def lost(**fields: Any) -> int:
    """A running job whose worker w1 and progress went silent an hour ago."""
    when = utcnow() - LONG_AGO
    return make_job(worker="w1", started_at=when, heartbeat_at=when, **fields)


def test_a_lost_job_fails_and_one_asked_to_abort_ends_aborted(sqlite_settings: Any) -> None:
    failed, aborting = lost(), lost(cancel_request="abort")
    alive = make_job(worker="w1", started_at=utcnow() - LONG_AGO, heartbeat_at=utcnow())  # its progress is recent
    queued = make_job("queued", published_at=utcnow() - LONG_AGO, created_at=utcnow() - LONG_AGO)
    reconciler.reconcile(sqlite_settings)  # the jobs' pass runs with the sessions' one
    row = get(failed)
    assert (row.status, row.error["code"]) == ("failed", "worker_lost")
    assert "Worker w1 was lost" in row.error["message"] and row.finished_at is not None
    assert (get(aborting).status, get(aborting).error) == ("aborted", None)
    assert get(alive).status == "running"
    assert get(queued).status == "queued"  # published: it waits in the broker's queue, however long
    assert job_reconciler.fail_lost(sqlite_settings) == []  # ended once


def test_a_job_whose_worker_beats_is_left_alone(sqlite_settings: Any) -> None:
    job = lost()
    with session_scope() as db:
        db.add(WorkerRecord(name="w1", hostname="h", queues=["cpu"], gpus=[], started_at=utcnow() - 2 * LONG_AGO))
    assert job_reconciler.fail_lost(sqlite_settings) == []
    assert get(job).status == "running"


def test_a_job_whose_publish_failed_is_published_again(sqlite_settings: Any) -> None:
    old = make_job("queued", created_at=utcnow() - LONG_AGO)
    fresh = make_job("queued")  # its submit may still be publishing it
    assert job_reconciler.publish_unpublished(sqlite_settings) == [old]  # the embedded broker takes it
    assert get(old).published_at is not None and get(fresh).published_at is None
    assert job_reconciler.publish_unpublished(sqlite_settings) == []
