"""The reconciler's pass over jobs: running jobs whose worker vanished end failed (a scoring is not resumed: it is
cheap to submit again, and its partial output was never a dataset); jobs whose publish failed are published again."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db import new_session
from server.models import Job, utcnow
from server.services import jobs, workers
from server.settings import Settings
from server.transactions import with_retry

log = logging.getLogger(__name__)


def fail_lost(settings: Settings) -> list[int]:
    """End failed (aborted when an abort was asked) the running jobs whose worker and progress went silent."""
    lost = (Job.status == "running", workers.lost(Job, settings))

    def settle(db: Session) -> list[int]:
        ended: list[int] = []
        for row in db.scalars(select(Job).where(*lost)):
            aborted = row.cancel_request == "abort"
            message = f"Worker {row.worker} was lost (no heartbeat for {settings.worker_lost_after_s:g} s)."
            values = {"status": "aborted" if aborted else "failed", "finished_at": utcnow()}
            if not aborted:
                values["error"] = {"code": "worker_lost", "message": message + " Submit the job again."}
            # Guarded on the status: a worker that finishes meanwhile wins, and the job ends once.
            if db.execute(update(Job).where(Job.id == row.id, *lost).values(**values)).rowcount:
                ended.append(row.id)
        return ended

    return with_retry(settle, "reconcile lost jobs")


def publish_unpublished(settings: Settings) -> list[int]:
    """Publish again the queued jobs whose publish failed (published_at unset) republish_after_s ago or more."""
    cutoff = utcnow() - timedelta(seconds=settings.republish_after_s)

    def stale(db: Session) -> list[Job]:
        rows = list(
            db.scalars(select(Job).where(Job.status == "queued", Job.published_at.is_(None), Job.created_at < cutoff))
        )
        for row in rows:
            db.expunge(row)
        return rows

    done = []
    for row in with_retry(stale, "reconcile queued jobs"):
        with closing(new_session()) as db:
            if jobs.publish(db, settings, row):
                done.append(row.id)
    return done


def reconcile_jobs(settings: Settings) -> dict[str, list[int]]:
    """One pass over jobs; returns what it did (logged when it did anything)."""
    done = {"failed": fail_lost(settings), "republished": publish_unpublished(settings)}
    if any(done.values()):
        log.warning("reconciler (jobs): %s", done)
    return done
