"""The reconciler: sessions whose worker vanished are re-queued once or failed; lost messages are re-published.

Every worker runs it periodically; every change is a conditional update, so several reconcilers never
disagree and never put one session on two workers.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from server.models import TrainingSession, WorkerRecord, utcnow
from server.settings import Settings
from worker import broker_inspect, state
from worker.workspace import owner_name

log = logging.getLogger(__name__)


def requeue(db: Session, row: TrainingSession, reason: str) -> bool:
    """Put a running session back in the queue (new lease: the old worker can write nothing more)."""
    return bool(
        db.execute(
            update(TrainingSession)
            .where(
                TrainingSession.id == row.id, TrainingSession.lease == row.lease, TrainingSession.status == "running"
            )
            .values(
                status="queued",
                worker=None,
                lease=row.lease + 1,
                published_at=None,
                progress={**(row.progress or {}), "requeued": reason},
            )
        ).rowcount
    )


def fail_lost(db: Session, row: TrainingSession, message: str) -> bool:
    """End a running session whose worker is gone and that may not be retried."""
    return bool(
        db.execute(
            update(TrainingSession)
            .where(
                TrainingSession.id == row.id, TrainingSession.lease == row.lease, TrainingSession.status == "running"
            )
            .values(
                status="failed",
                ended_at=utcnow(),
                lease=row.lease + 1,
                error={"type": "worker_lost", "message": message, "cell": None, "line": None, "traceback": None},
            )
        ).rowcount
    )


def lost_sessions(db: Session, settings: Settings) -> list[TrainingSession]:
    """Running sessions whose worker has not beaten for worker_lost_after_s (or stopped)."""
    cutoff = utcnow() - timedelta(seconds=settings.worker_lost_after_s)
    # Its worker is alive only if that same incarnation (started before the session) still beats.
    owner_alive = exists().where(
        and_(
            WorkerRecord.name == TrainingSession.worker,
            WorkerRecord.last_heartbeat >= cutoff,
            WorkerRecord.stopped_at.is_(None),
            WorkerRecord.started_at <= TrainingSession.started_at,
        )
    )
    return list(
        db.scalars(
            select(TrainingSession).where(
                TrainingSession.status == "running",
                ~owner_alive,
                or_(TrainingSession.heartbeat_at.is_(None), TrainingSession.heartbeat_at < cutoff),
            )
        )
    )


def reconcile(settings: Settings) -> dict[str, list[int]]:
    """One pass: lost sessions re-queued or failed, unpublished queued sessions published. Returns what it did."""
    from server.services import sessions as session_service

    done: dict[str, list[int]] = {"requeued": [], "failed": [], "republished": []}

    def _lost(db: Session) -> list[TrainingSession]:
        out = []
        for row in lost_sessions(db, settings):
            if row.cancel_request == "abort":
                if db.execute(
                    update(TrainingSession)
                    .where(
                        TrainingSession.id == row.id,
                        TrainingSession.lease == row.lease,
                        TrainingSession.status == "running",
                    )
                    .values(status="aborted", ended_at=utcnow(), lease=row.lease + 1)
                ).rowcount:
                    continue
            if row.attempts < settings.max_attempts:
                if requeue(db, row, "worker lost"):
                    done["requeued"].append(row.id)
                    out.append(row)
            elif fail_lost(
                db,
                row,
                f"Worker {row.worker} was lost (no heartbeat for "
                f"{settings.worker_lost_after_s:g} s) and the session used its "
                f"{settings.max_attempts} attempts.",
            ):
                done["failed"].append(row.id)
        for row in out:
            db.expunge(row)
        return out

    for row in state.with_retry(_lost, "reconcile lost sessions"):
        row.queue = row.queue or "cpu"
        session_service.publish(row)

    def _queued(db: Session) -> list[TrainingSession]:
        cutoff = utcnow() - timedelta(seconds=settings.republish_after_s)
        rows = list(
            db.scalars(
                select(TrainingSession).where(
                    TrainingSession.status == "queued",
                    or_(TrainingSession.published_at.is_(None), TrainingSession.published_at < cutoff),
                    TrainingSession.queued_at < cutoff,
                )
            )
        )
        for row in rows:
            db.expunge(row)
        return rows

    stale = state.with_retry(_queued, "reconcile queued sessions")
    if stale:
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
    if any(done.values()):
        log.warning("reconciler: %s", done)
    return done


def clean_orphans(settings: Settings, active_scratch: set[str]) -> list[str]:
    """Remove scratch folders of trainings no longer running here and temporary files left by crashes."""
    removed: list[str] = []
    now = time.time()
    import shutil

    root = settings.scratch_root
    if root.is_dir():
        for folder in root.iterdir():
            if owner_name(folder.name) in active_scratch:
                continue
            try:
                if now - folder.lstat().st_mtime > settings.orphan_max_age_s:
                    if folder.is_dir() and not folder.is_symlink():
                        shutil.rmtree(folder, ignore_errors=True)
                    else:
                        folder.unlink()
                    removed.append(str(folder))
            except OSError:
                continue
    for base in (settings.artifacts, settings.data_root):
        for tmp in _temp_files(base):
            try:
                if now - tmp.stat().st_mtime > settings.orphan_max_age_s:
                    tmp.unlink()
                    removed.append(str(tmp))
            except OSError:
                continue
    return removed


def _temp_files(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    patterns = ("**/.*.tmp", "**/*.tmp.keras", "**/.upload-*", "**/.data.parquet.tmp")
    found: list[Path] = []
    for pattern in patterns:
        found.extend(p for p in base.glob(pattern) if p.is_file())
    return found


def loop_once(settings: Settings, active_scratch: set[str]) -> dict[str, Any]:
    """What the heartbeat thread runs every reconcile_every_s."""
    result: dict[str, Any] = dict(reconcile(settings))
    from worker.cgroups import clean_stale

    result["cleaned"] = clean_orphans(settings, active_scratch) + clean_stale(active_scratch)
    return result
