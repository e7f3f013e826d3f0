"""Run one training session end to end: claim, prepare the job, supervise the child, store the result."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import traceback
from pathlib import Path
from typing import Any

from server.models import Dataset, TrainedModel
from server.services import datasets, storage
from server.services.ids import trained_model_id
from server.settings import Settings, get_settings
from worker import child_process, requests, state
from worker.cgroups import PidsCgroup
from worker.gpus import GpuPool
from worker.runtime import checkpoint as ckpt
from worker.runtime import evaluation
from worker.runtime.control import DRAINED_EXIT_CODE
from worker.supervisor import Outcome, SessionSink, Sink, Supervisor

log = logging.getLogger(__name__)
ACTIVE_SCRATCH: set[str] = set()  # scratch folders in use in this process (the orphan cleaner spares them)


def _dataset(settings: Settings, dataset_id: int) -> Dataset:
    def _do(db: Any) -> Dataset:
        row = db.get(Dataset, dataset_id)
        if row is None:
            raise LookupError(f"dataset {dataset_id} no longer exists")
        db.expunge(row)
        return row

    return state.with_retry(_do, "load dataset")


def build_job(
    settings: Settings,
    design: dict[str, Any],
    scratch: Path,
    gpus: list[int] | None,
    session_id: int | None = None,
    number: int | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The job description the child reads: the frozen design and where its inputs and outputs are."""
    ds = _dataset(settings, design["dataset_id"])
    return {
        "session_id": session_id,
        "session_number": number,
        "dry_run": dry_run,
        "design": design,
        "dataset": {
            "parquet": str(datasets.parquet_path(settings, ds)),
            "files_root": str(datasets.files_root(settings, ds)),
            "kind": ds.kind,
            "columns": ds.columns,
        },
        "out_dir": str(scratch / "out"),
        "gpus": gpus or [],
        "allow_growth": bool(design["settings"]["gpu"].get("allow_growth", True)),
        "sandbox": sandbox_spec(settings, scratch, session_id),
        "limits": {
            "cpu_time_s": settings.training_cpu_time_s,
            "time_limit_s": design["settings"]["training"]["time_limit_s"],
            "max_open_files": settings.training_max_open_files,
            "max_processes": settings.training_max_processes,
            "max_file_mb": settings.training_max_file_mb,
            "nice": settings.training_nice,
        },
    }


def sandbox_spec(settings: Settings, scratch: Path, session_id: int | None) -> dict[str, Any]:
    """What the child locks down: writable folders, the service's secret files and broker folder."""
    writable = [str(scratch)]
    if session_id is not None:
        checkpoints = storage.session_dir(settings, session_id) / "checkpoint"
        checkpoints.mkdir(parents=True, exist_ok=True)
        writable.append(str(checkpoints))
    hidden = [str(settings.home / "secret_key")]
    url = settings.sql_url
    if url.startswith("sqlite:///"):
        db = url.removeprefix("sqlite:///")
        hidden += [db, f"{db}-wal", f"{db}-shm", f"{db}-journal"]
    return {
        "enabled": settings.training_sandbox,
        "network": settings.training_network,
        "writable": writable,
        "hidden_files": hidden,
        "hidden_dirs": [str(settings.broker_folder)] if settings.embedded_broker else [],
        # other trainings' scratch folders (their jobs hold other users' designs)
        "hide_siblings_of": str(scratch),
    }


def error_from_child(out_dir: Path, outcome: Outcome) -> dict[str, Any]:
    err_file = out_dir / "error.json"
    if outcome.killed_for in ("time_limit", "memory_limit", "process_limit", "shutdown", "lease_lost"):
        return {"type": outcome.killed_for, "message": outcome.message, "cell": None, "line": None, "traceback": None}
    if err_file.exists():
        try:
            return json.loads(err_file.read_text())
        except ValueError:
            pass
    code = outcome.returncode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        message = f"The training process was killed by {name}"
        if -code == signal.SIGKILL:
            message += " (possibly out of memory)"
    else:
        message = f"The training process exited with code {code} without a result"
    return {
        "type": "process_died",
        "message": message + "; see the log.",
        "cell": None,
        "line": None,
        "traceback": None,
    }


def _store_model(settings: Settings, session: Any, result: dict[str, Any], out_dir: Path) -> TrainedModel:
    design = session.design
    tmid = trained_model_id(design["project_key"], design["analysis_id"], design["ml_task_id"], session.number)
    folder = storage.trained_model_dir(settings, design["project_key"], tmid)
    target = folder / "model.keras"
    storage.atomic_move(out_dir / "model.keras", target)
    if result.get("evaluation"):
        evaluation.save(folder, result["evaluation"])
    project_id = state.with_retry(
        lambda db: db.get(type(session), session.id).ml_task.analysis.project_id, "project of session"
    )
    return TrainedModel(
        id=tmid,
        session_id=session.id,
        project_id=project_id,
        analysis_id=design["analysis_id"],
        ml_task_id=design["ml_task_id"],
        prediction_type=design["prediction_type"],
        metric=design["settings"]["metric"],
        best_epoch=result.get("best_epoch"),
        metrics=result.get("metrics") or {},
        history=result.get("history") or [],
        input_shapes=result.get("input_shapes") or {},
        n_classes=int(result.get("n_classes") or 1),
        class_labels=result.get("class_labels"),
        preprocessing=result.get("preprocessing") or {},
        lineage=result.get("lineage"),
        path=str(target.relative_to(settings.artifacts)),
    )


def run_in_child(
    settings: Settings,
    scratch: Path,
    job: dict[str, Any],
    gpus: list[int],
    sink: Sink,
    log_path: Path,
    on_request: Any,
    should_stop: Any,
) -> Outcome:
    """Write JOB into SCRATCH, start the child on it (in its own pids cgroup when possible), supervise it."""
    ACTIVE_SCRATCH.add(scratch.name)
    job_path = scratch / "job.json"
    job_path.write_text(json.dumps(job))
    proc, events_fd, replies_fd = child_process.start(job_path, scratch, log_path, gpus, settings.python_executable)
    cgroup = PidsCgroup.create(f"{scratch.name}-{proc.pid}", settings.training_max_processes)
    try:
        if cgroup is not None:
            cgroup.add(proc.pid)
        # The child waits for this line, so it is in its cgroup before it can fork anything.
        os.write(replies_fd, b'{"type": "go"}\n')
    except OSError:
        pass  # the child died at start; the supervisor reports how
    supervisor = Supervisor(
        proc,
        events_fd,
        replies_fd,
        sink,
        time_limit_s=job["limits"]["time_limit_s"],
        memory_limit_mb=settings.training_memory_mb,
        max_processes=settings.training_max_processes,
        on_request=on_request,
        should_stop=should_stop,
        drain_timeout_s=settings.drain_timeout_s,
    )
    try:
        return supervisor.run()
    finally:
        ACTIVE_SCRATCH.discard(scratch.name)
        if cgroup is not None:
            cgroup.remove()


def run_session(session_id: int, worker_name: str, pool: GpuPool, should_stop: Any = lambda: False) -> str:
    """Train SESSION_ID if it is still queued; returns the status it ended with (or 'skipped')."""
    settings = get_settings()
    lease = state.claim(session_id, worker_name)
    if lease is None:
        log.info("session %s is not queued any more; skipping", session_id)
        return "skipped"
    session = state.load(session_id)
    assert session is not None
    gpu_settings = session.design["settings"]["gpu"]
    gpus: list[int] = []
    scratch = settings.scratch_root / f"s{session_id}-l{lease}"
    try:
        if gpu_settings.get("use_gpu") and pool.gpus:
            gpus = pool.acquire(gpu_settings.get("gpu_list") or [0])
        scratch.mkdir(parents=True, exist_ok=True)
        out_dir = scratch / "out"
        out_dir.mkdir(exist_ok=True)
        job = build_job(settings, session.design, scratch, gpus, session_id=session.id, number=session.number)
        checkpoints = storage.session_dir(settings, session_id) / "checkpoint"
        job["checkpoint_dir"] = str(checkpoints)
        job["checkpoint_every_s"] = settings.checkpoint_every_s
        saved = ckpt.load(checkpoints) if session.design["settings"]["training"]["mode"] == "standard" else None
        # The stored history is what the checkpoint holds: a session resumed continues it, a restart clears it.
        state.reset_history(session_id, lease, saved["history"] if saved else [])
        outcome = run_in_child(
            settings,
            scratch,
            job,
            gpus,
            SessionSink(session_id, lease),
            storage.session_dir(settings, session_id) / "output.log",
            lambda req: requests.answer(settings, session.design, req),
            should_stop,
        )
        return _conclude(settings, session, lease, outcome, out_dir)
    except Exception as exc:
        log.exception("session %s failed in the worker", session_id)
        error = {
            "type": type(exc).__name__,
            "message": f"Internal error in the worker: {exc}",
            "cell": None,
            "line": None,
            "traceback": traceback.format_exc()[-4000:],
        }
        state.finish(session_id, lease, "failed", error=error)
        return "failed"
    finally:
        if gpus:
            pool.release(gpus)
        shutil.rmtree(scratch, ignore_errors=True)


def _conclude(settings: Settings, session: Any, lease: int, outcome: Outcome, out_dir: Path) -> str:
    from server.services.sessions import publish

    if outcome.killed_for == "lease_lost":
        return "lost"
    if outcome.killed_for == "shutdown" or (outcome.killed_for is None and outcome.returncode == DRAINED_EXIT_CODE):
        if state.hand_back(session.id, lease, "worker stopped"):
            session.status = "queued"
            publish(session)
        return "handed back"
    checkpoints = storage.session_dir(settings, session.id) / "checkpoint"
    shutil.rmtree(checkpoints, ignore_errors=True)
    if outcome.killed_for == "abort":
        state.finish(session.id, lease, "aborted")
        return "aborted"
    result_file = out_dir / "result.json"
    if outcome.killed_for is None and outcome.returncode == 0 and result_file.exists():
        result = json.loads(result_file.read_text())
        model = _store_model(settings, session, result, out_dir)
        state.finish(session.id, lease, "succeeded", interrupted=bool(result.get("interrupted")), model=model)
        return "succeeded"
    state.finish(session.id, lease, "failed", error=error_from_child(out_dir, outcome))
    return "failed"
