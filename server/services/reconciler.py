"""The reconciler: sessions whose worker vanished are re-queued or failed; lost messages are published again.

The API and every worker run a pass periodically; every change is a guarded transition (server/lifecycle.py),
so several reconcilers never disagree and never put one session on two workers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.status import SessionStatus
from server import broker_inspect, lifecycle
from server.models import TrainingSession, utcnow
from server.services import job_reconciler, workers
from server.services import sessions as session_service
from server.settings import Settings
from server.transactions import with_retry

log = logging.getLogger(__name__)

Done = dict[str, list[int]]


def lost_sessions(db: Session, settings: Settings) -> list[TrainingSession]:
    """Running sessions whose worker has not beaten for worker_lost_after_s (or stopped)."""
    lost = workers.lost(TrainingSession, settings)
    return list(db.scalars(select(TrainingSession).where(TrainingSession.status == SessionStatus.RUNNING, lost)))


def _settle_lost(db: Session, settings: Settings, row: TrainingSession, done: Done) -> bool:
    """Abort, re-queue or fail one lost session; True when it was re-queued (it then needs publishing)."""
    if row.cancel_request == "abort" and lifecycle.abort_lost(db, row.id, row.lease):
        return False
    if row.attempts < settings.max_attempts:
        if lifecycle.hand_back(db, row.id, row.lease, "worker lost"):
            done["requeued"].append(row.id)
            return True
        return False
    message = (
        f"Worker {row.worker} was lost (no heartbeat for {settings.worker_lost_after_s:g} s) "
        f"and the session used its {settings.max_attempts} attempts."
    )
    if lifecycle.fail_lost(db, row.id, row.lease, message):
        done["failed"].append(row.id)
    return False


def requeue_lost(settings: Settings, done: Done) -> None:
    """Settle every lost session, then publish the re-queued ones (after their commit, as submit does)."""

    def _lost(db: Session) -> list[TrainingSession]:
        requeued = [row for row in lost_sessions(db, settings) if _settle_lost(db, settings, row, done)]
        for row in requeued:
            db.expunge(row)
        return requeued

    for row in with_retry(_lost, "reconcile lost sessions"):
        row.queue = row.queue or "cpu"
        session_service.publish(row)


def stale_queued(settings: Settings) -> list[TrainingSession]:
    """Queued sessions not published (or published long ago) for republish_after_s: their message may be lost."""

    def _queued(db: Session) -> list[TrainingSession]:
        cutoff = utcnow() - timedelta(seconds=settings.republish_after_s)
        rows = list(
            db.scalars(
                select(TrainingSession).where(
                    TrainingSession.status == SessionStatus.QUEUED,
                    or_(TrainingSession.published_at.is_(None), TrainingSession.published_at < cutoff),
                    TrainingSession.queued_at < cutoff,
                )
            )
        )
        for row in rows:
            db.expunge(row)
        return rows

    return with_retry(_queued, "reconcile queued sessions")


def republish_missing(settings: Settings, stale: list[TrainingSession], done: Done) -> None:
    """Publish again the STALE sessions the broker does not hold (all of them when it cannot be inspected)."""
    present = broker_inspect.pending_sessions(settings, sorted({r.queue for r in stale}))
    for row in stale:
        if present is not None and row.id in present:
            continue
        log.warning(
            "session %s is queued but not in the broker (seen there: %s); publishing it again",
            row.id,
            "unknown" if present is None else sorted(present)[:20],
        )
        if session_service.publish(row):
            done["republished"].append(row.id)


def reconcile(settings: Settings) -> Done:
    """One pass: lost sessions re-queued or failed, unpublished queued sessions published. Returns what it did."""
    done: Done = {"requeued": [], "failed": [], "republished": []}
    requeue_lost(settings, done)
    stale = stale_queued(settings)
    if stale:
        republish_missing(settings, stale, done)
    if any(done.values()):
        log.warning("reconciler: %s", done)
    job_reconciler.reconcile_jobs(settings)  # jobs: a pass and a log line of their own
    return done
