"""Celery tasks and the worker's start/stop hooks."""

from __future__ import annotations

import logging
import os
import signal
import threading

from celery import signals

from server.observability.logs import install_worker_logging, session_context
from server.settings import get_settings
from worker.celery_app import app
from worker.dry_run_task import run_dry_run
from worker.evaluate_job_task import run_evaluate_job
from worker.gpus import GpuPool
from worker.heartbeat import Heartbeat, sandbox_status
from worker.runner import run_session
from worker.score_job_task import run_score_job
from worker.score_task import run_scoring

log = logging.getLogger(__name__)

_pool = GpuPool([int(g) for g in os.environ.get("FITSTUDIO_WORKER_GPUS", "").split(",") if g.strip()])
_heartbeat: Heartbeat | None = None
_stopping = threading.Event()
install_worker_logging()  # issue 8: JSON log lines when FITSTUDIO_LOG_FORMAT=json


@signals.celeryd_after_setup.connect
def _on_setup(sender: str | None = None, instance: object = None, **_kw: object) -> None:
    """Beat before the first task can arrive: a session is never running on a worker that has no row."""
    global _heartbeat
    name = sender or getattr(instance, "hostname", None) or "worker"
    app_ = getattr(instance, "app", app)
    consume = getattr(getattr(app_.amqp, "queues", None), "consume_from", None) or {}
    queues = sorted(consume) or ["cpu"]
    concurrency = int(getattr(instance, "concurrency", 1) or 1)
    settings = get_settings()
    sandbox = sandbox_status(settings.training_sandbox)
    if not sandbox.trains:  # it cannot isolate user code: it consumes none of its queues (trainings, dry runs)
        app_.amqp.queues.deselect(list(consume))
    _heartbeat = Heartbeat(name, queues, _pool.gpus, concurrency, settings.worker_heartbeat_s, sandbox)
    _heartbeat.start()
    if threading.current_thread() is threading.main_thread():
        # Celery installs its own SIGTERM handler only after the banner; a stop in between must not leave the
        # row "alive" until it goes silent. Celery's handler replaces this one.
        signal.signal(signal.SIGTERM, _stopped_before_ready)
    log.info("fitstudio worker %s set up on queues %s with GPUs %s", name, queues, _pool.gpus)


STOP_WRITE_WAIT_S = 10  # how long an exit waits for the heartbeat thread to mark the worker stopped


def _stopped_before_ready(_signum: int, _frame: object) -> None:
    """SIGTERM before Celery is ready: mark the worker stopped and exit (nothing runs yet)."""
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat.wait_stopped(STOP_WRITE_WAIT_S)
    os._exit(0)


@signals.worker_shutting_down.connect
def _on_shutdown(sig: str | None = None, **_kw: object) -> None:
    """First SIGTERM: drain (trainings checkpoint and go back to the queue). A second one: stop at once."""
    _stopping.set()
    if _heartbeat is not None:
        _heartbeat.stop()
    if threading.current_thread() is threading.main_thread():

        def _now(_signum: int, _frame: object) -> None:
            log.warning("second SIGTERM: stopping at once; running trainings die with the worker")
            if _heartbeat is not None:
                _heartbeat.wait_stopped(STOP_WRITE_WAIT_S)
            os._exit(1)

        signal.signal(signal.SIGTERM, _now)


@signals.worker_shutdown.connect
def _on_stopped(**_kw: object) -> None:
    """The end of a warm shutdown: the process exits once the heartbeat thread has marked the worker stopped."""
    if _heartbeat is not None and not _heartbeat.wait_stopped(STOP_WRITE_WAIT_S * 3):
        log.warning("worker %s exits before its row says stopped; it will show as silent", _heartbeat.name)


@app.task(name="fitstudio.train", bind=True, acks_late=True, reject_on_worker_lost=True)
def train(self, session_id: int) -> str:  # type: ignore[no-untyped-def]
    """Train one session (the work runs in a child process; this thread supervises it)."""
    name = self.request.hostname or "worker"
    if _heartbeat is not None:
        _heartbeat.current.add(session_id)
    try:
        with session_context(int(session_id)):  # issue 8: log lines carry the session id
            queue = (self.request.delivery_info or {}).get("routing_key")
            log.info("training session %s from queue %s", session_id, queue)
            status = run_session(int(session_id), name, _pool, should_stop=_stopping.is_set)
            log.info("session %s done: %s", session_id, status)
            return status
    finally:
        if _heartbeat is not None:
            _heartbeat.current.discard(session_id)


@app.task(name="fitstudio.dry_run", acks_late=True, reject_on_worker_lost=True)
def dry_run(dry_run_id: int) -> str:
    """Build the model of a design and train it on one small batch, in a child process."""
    return run_dry_run(int(dry_run_id))


@app.task(name="fitstudio.score", acks_late=True, reject_on_worker_lost=True)
def score(token: str) -> str:
    """Score a …/predict request whose model needs its training's code cells, in a sandboxed child."""
    return run_scoring(str(token))


@app.task(name="fitstudio.score_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def score_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    """Score a whole dataset with a saved model (a job of api.md "Batch jobs"): read, preprocessed and written in this
    worker process, the model run here or, when it needs its code or a GPU, in a sandboxed child."""
    return run_score_job(int(job_id), self.request.hostname or "worker", _pool)


@app.task(name="fitstudio.evaluate_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def evaluate_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    """Evaluate a saved model on a labelled dataset (a job of api.md "Batch jobs"), as score_job runs its model."""
    return run_evaluate_job(int(job_id), self.request.hostname or "worker", _pool)
