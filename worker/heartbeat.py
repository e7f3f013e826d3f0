"""The worker's heartbeat: its row in the workers table, refreshed while it lives."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from core.status import SessionStatus
from server.models import TrainingSession, WorkerRecord, utcnow
from server.settings import get_settings
from worker import reconciler, runner, state
from worker.sandbox import Isolation, isolation

log = logging.getLogger(__name__)
OPT_OUT = "FITSTUDIO_TRAINING_SANDBOX=false"


@dataclass(frozen=True)
class SandboxStatus:
    """What the workers page shows of this worker's sandbox, and whether the worker takes trainings."""

    summary: str
    isolated: bool
    trains: bool


def decide(found: Isolation, enabled: bool) -> SandboxStatus:
    """Isolated: trains. Sandbox disabled by the operator: trains unisolated. Unavailable: refuses trainings."""
    if not enabled:
        return SandboxStatus(found.summary, isolated=False, trains=True)
    return SandboxStatus(found.summary, isolated=found.available, trains=found.available)


def sandbox_status(enabled: bool) -> SandboxStatus:
    """Probe worker.sandbox once and log the answer (a warning or an error when user code is not isolated)."""
    status = decide(isolation(enabled, get_settings().training_uid_base), enabled)
    if not enabled:
        log.warning("training sandbox disabled by the operator (%s): user code runs without isolation", OPT_OUT)
    elif status.trains:
        log.info("user code isolation: %s", status.summary)
    else:
        log.error(
            "no training sandbox here (%s): this worker refuses trainings and consumes no queue; "
            "make the sandbox work (docs/security.md) or set %s to train without isolation",
            status.summary,
            OPT_OUT,
        )
    return status


class Heartbeat:
    """A daemon thread that upserts this worker's row every INTERVAL seconds."""

    def __init__(
        self,
        name: str,
        queues: list[str],
        gpus: list[int],
        concurrency: int,
        interval: float,
        sandbox: SandboxStatus | None = None,
    ):
        self.name = name
        self.sandbox = sandbox
        self.queues = queues
        self.gpus = gpus
        self.concurrency = concurrency
        self.interval = interval
        self.current: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fitstudio-heartbeat", daemon=True)

    def start(self) -> None:
        """Write the first beat and start beating."""
        self.beat(first=True)
        self._thread.start()

    def beat(self, first: bool = False) -> None:
        """Upsert the row once."""

        def _do(db: Any) -> None:
            row = db.get(WorkerRecord, self.name)
            if row is None:
                row = WorkerRecord(name=self.name, hostname=socket.gethostname(), queues=self.queues, gpus=self.gpus)
                db.add(row)
            if first:
                row.started_at = utcnow()
                row.stopped_at = None
                if self.sandbox is not None:
                    row.isolation, row.isolated = self.sandbox.summary, self.sandbox.isolated
                    row.accepts_trainings = self.sandbox.trains
            row.queues, row.gpus, row.concurrency = self.queues, self.gpus, self.concurrency
            row.current_sessions = sorted(self.current)
            row.last_heartbeat = utcnow()
            if self.current:  # its sessions are alive too, even in phases that report no progress
                db.execute(
                    update(TrainingSession)
                    .where(
                        TrainingSession.id.in_(list(self.current)),
                        TrainingSession.worker == self.name,
                        TrainingSession.status == SessionStatus.RUNNING,
                    )
                    .values(heartbeat_at=utcnow())
                )

        state.with_retry(_do, "heartbeat")

    def _loop(self) -> None:
        last_reconcile = 0.0
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed")
            settings = get_settings()
            if time.monotonic() - last_reconcile >= settings.reconcile_every_s:
                last_reconcile = time.monotonic()
                try:
                    reconciler.loop_once(settings, set(runner.ACTIVE_SCRATCH))
                except Exception:
                    log.exception("reconciler pass failed")
        self._mark_stopped()

    def stop(self) -> None:
        """Stop beating; this thread then marks the worker stopped (see wait_stopped)."""
        # Never a database write here: stop() runs in a signal handler, which may have interrupted the main
        # thread while it held a lock (logging, the pool) that the write would then wait on for minutes.
        self._stop.set()

    def wait_stopped(self, timeout: float) -> bool:
        """Wait up to TIMEOUT seconds for the row to say stopped; True if it does."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _mark_stopped(self) -> None:
        def _do(db: Any) -> None:
            row = db.get(WorkerRecord, self.name)
            if row is not None:
                row.stopped_at = utcnow()
                row.current_sessions = []

        try:
            state.with_retry(_do, "heartbeat stop")
        except Exception:
            log.exception("could not mark worker %s stopped", self.name)
