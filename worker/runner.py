"""Run one training session end to end: claim, prepare the job, supervise the child, store the result."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import traceback
from pathlib import Path
from typing import Any

from core import evaluation
from core.contracts import DatasetRef, Design, ErrorInfo, Job, Limits
from core.status import SessionStatus
from server.models import Dataset, TrainedModel
from server.services import datasets, model_files, storage
from server.services import sessions as session_service
from server.services.ids import trained_model_id
from server.settings import Settings, get_settings
from worker import (
    child_files,
    child_process,
    child_requests,
    image_cache_build,
    readable_folders,
    sandbox,
    state,
    tensorboard_logs,
)
from worker.cgroups import TrainingCgroup
from worker.gpus import GpuPool
from worker.log_pump import LogPump
from worker.runtime import checkpoint as ckpt
from worker.runtime.control import DRAINED_EXIT_CODE
from worker.supervisor import Outcome, SessionSink, Sink, Supervisor
from worker.workspace import Workspace

log = logging.getLogger(__name__)


class TrainingOutputError(RuntimeError):
    """The child ended well but left no usable result."""


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
    """The job description the child reads (job.json): the frozen design and where its inputs and outputs are."""
    ds = _dataset(settings, design["dataset_id"])
    out = Workspace(scratch).out
    job = Job(
        session_id=session_id,
        session_number=number,
        dry_run=dry_run,
        design=Design.from_dict(design),
        dataset=DatasetRef(
            parquet=str(datasets.parquet_path(settings, ds)),
            files_root=str(datasets.files_root(settings, ds)),
            kind=ds.kind,
            columns=ds.columns,
        ),
        out_dir=str(out),
        # TENSORBOARD_LOGDIR: in the sandbox's out folder; a session's worker copies it out (worker/tensorboard_logs.py)
        tensorboard_dir=str(out / "tensorboard"),
        gpus=gpus or [],
        allow_growth=bool(design["settings"]["gpu"].get("allow_growth", True)),
        limits=Limits(
            cpu_time_s=settings.training_cpu_time_s,
            time_limit_s=design["settings"]["training"]["time_limit_s"],
            max_open_files=settings.training_max_open_files,
            max_processes=settings.training_max_processes,
            max_file_mb=settings.training_max_file_mb,
            nice=settings.training_nice,
            stream_above_mb=settings.training_stream_above_mb,
        ),
    ).as_dict()
    readable_folders.add_to_job(settings, design, job)  # managed folders and the weights store, read-only
    return job


def sandbox_view(settings: Settings, job: dict[str, Any], scratch: Path) -> sandbox.View | None:
    """What the training's sandbox shows (None when the operator turned the sandbox off)."""
    if not settings.training_sandbox:
        return None
    dataset = job["dataset"]
    workspace = Workspace(scratch)
    writable = [str(scratch), str(workspace.out)] + ([job["checkpoint_dir"]] if job.get("checkpoint_dir") else [])
    # Further folders a feature shows the training: read-only (managed folders, weights) or writable (logs).
    writable += job.get("sandbox_writable") or []
    return sandbox.View(
        read_only=[
            str(workspace.granted),
            *sandbox.python_roots(settings.python_executable),
            *sandbox.source_roots(),
            *settings.training_sandbox_paths,
            *(p for p in (dataset["parquet"], dataset["files_root"]) if p),  # a scoring job reads no dataset
            *(job.get("sandbox_read_only") or []),
        ],
        writable=writable,
        cwd=str(scratch),
        uid=sandbox.sandbox_uid(settings.training_uid_base, scratch.name),
        network=settings.training_network,
        devices=sandbox.gpu_devices() if job.get("gpus") else [],
        shm_bytes=max(64, settings.training_memory_mb // 2) << 20,
        tmp=str(workspace.tmp),
    )


def _log_line(log_path: Path) -> Any:
    """A function appending one "[fitstudio] …" line to the session's log (before the child writes to it)."""

    def say(message: str) -> None:
        with open(log_path, "a") as log_file:
            log_file.write(f"[fitstudio] {message}\n")

    return say


# Why the supervisor stopped a child, when that is the error to store (abort is not an error; see Outcome).
SUPERVISOR_REASONS = (
    "time_limit",
    "memory_limit",
    "process_limit",
    "shutdown",
    "lease_lost",
    "event_flood",
    "database_error",
)


def error_from_child(out_dir: Path, outcome: Outcome) -> dict[str, Any]:
    """The error to store, as the JSON object (see child_error)."""
    return child_error(out_dir, outcome).as_dict()


def child_error(out_dir: Path, outcome: Outcome) -> ErrorInfo:
    """The error to store: the supervisor's reason, else the child's error.json, else how the process ended."""
    if outcome.killed_for in SUPERVISOR_REASONS:
        return ErrorInfo(outcome.killed_for, outcome.message)
    info = child_files.read_json(out_dir / "error.json", limit=1 << 20)
    if isinstance(info, dict) and isinstance(info.get("message"), str):
        # The child's own words, whatever it put in them (it is not trusted to type them).
        return ErrorInfo(info.get("type"), info["message"], info.get("cell"), info.get("line"), info.get("traceback"))
    code = outcome.returncode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        message = f"The training process was killed by {name}"
        if -code == signal.SIGKILL:
            message += " (possibly out of memory)"
    else:
        message = f"The training process exited with code {code} without a result"
    return ErrorInfo("process_died", message + "; see the log.")


def _store_model(settings: Settings, session: Any, result: dict[str, Any], out_dir: Path) -> TrainedModel:
    design = session.design
    tmid = trained_model_id(design["project_key"], design["analysis_id"], design["ml_task_id"], session.number)
    folder = storage.trained_model_dir(settings, design["project_key"], tmid)
    target = folder / "model.keras"
    if not child_files.take_file(out_dir / "model.keras", target):
        raise TrainingOutputError("the training wrote no model file (or something other than a plain file)")
    model_files.write_checksum(target)  # the API verifies it before serving, scoring, exporting or deploying
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


def _start_child(
    settings: Settings, scratch: Path, job: dict[str, Any], gpus: list[int], log_path: Path
) -> tuple[sandbox.View | None, tuple[subprocess.Popen[bytes], int, int, LogPump]]:
    """Write JOB into SCRATCH and start the child on it, in its sandbox unless that is off: the sandbox's view and
    child_process.start's process, pipes and log pump."""
    view = sandbox_view(settings, job, scratch)
    job["isolation"] = (
        sandbox.describe(view) if view else "none: the sandbox is disabled (FITSTUDIO_TRAINING_SANDBOX=false)"
    )
    job_path = scratch / "job.json"
    job_path.write_text(json.dumps(job))
    if view is not None:
        sandbox.hand_over([Path(p) for p in view.writable], view.uid)
    started = child_process.start(
        job_path,
        scratch,
        log_path,
        gpus,
        settings.python_executable,
        view,
        settings.max_log_mb,
        settings.training_malloc_tuning,
    )
    return view, started


def admit(proc: subprocess.Popen[bytes], cgroup: TrainingCgroup | None, replies_fd: int, expected: int) -> None:
    """Move the child PROC's EXPECTED processes into CGROUP, then tell it to go (it waits for that line, so it is in
    its cgroup before it can fork anything). When the cgroup has gone meanwhile, the child is stopped: it must
    neither run unbounded nor wait for ever."""
    try:
        if cgroup is not None:
            cgroup.add_tree(proc.pid, expected=expected)
    except OSError as exc:
        log.warning("training child %s could not be moved into its cgroups: %s; stopped", proc.pid, exc)
        child_process.kill_group(proc)
    try:
        os.write(replies_fd, b'{"type": "go"}\n')
    except OSError:
        pass  # the child died at start; the supervisor reports how


def run_in_child(
    settings: Settings,
    scratch: Path,
    job: dict[str, Any],
    gpus: list[int],
    sink: Sink,
    log_path: Path,
    on_request: Any,
    should_stop: Any,
    cpu_role: str = "training",
) -> Outcome:
    """Write JOB into SCRATCH, start the child on it (in its own pids, memory and cpu cgroups when possible, the cpu
    one at CPU_ROLE's weight), supervise it."""
    ACTIVE_SCRATCH.add(scratch.name)
    view, (proc, events_fd, replies_fd, log_pump) = _start_child(settings, scratch, job, gpus, log_path)
    cgroup = TrainingCgroup.create(
        f"{scratch.name}-{proc.pid}", settings.training_max_processes, settings.training_memory_mb << 20, cpu_role
    )
    admit(proc, cgroup, replies_fd, expected=3 if view is not None else 1)
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
        sandboxed=view is not None,
        oom_kills=cgroup.memory.oom_kills if cgroup is not None and cgroup.memory is not None else None,
    )
    try:
        outcome = supervisor.run()
        log_pump.join()  # every process of the training is gone: the log is complete
        if cgroup is not None and cgroup.memory is not None and (peak := cgroup.memory.peak()) is not None:
            _log_line(log_path)(f"peak memory {peak / 2**20:.0f} MB (limit {settings.training_memory_mb} MB)")
        return outcome
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
    workspace = Workspace(settings.scratch_root / f"s{session_id}-l{lease}")
    scratch = workspace.scratch
    try:
        if gpu_settings.get("use_gpu") and pool.gpus:
            gpus = pool.acquire(gpu_settings.get("gpu_list") or [0])
        workspace.create()
        job = build_job(settings, session.design, scratch, gpus, session_id=session.id, number=session.number)
        checkpoints = storage.session_dir(settings, session_id) / "checkpoint"
        checkpoints.mkdir(parents=True, exist_ok=True)
        job["checkpoint_dir"] = str(checkpoints)
        job["checkpoint_every_s"] = settings.checkpoint_every_s
        log_path = storage.session_dir(settings, session_id) / "output.log"
        # Images decoded once per dataset and size, here (the sandbox cannot write the data root), bound read-only.
        image_cache_build.for_job(job, settings.data_root, settings.image_cache_mb, _log_line(log_path))
        _seed_continued(settings, session.design, checkpoints)
        saved = ckpt.load_checkpoint(checkpoints)  # none when the training cannot resume (worker/runtime/resume.py)
        # The stored history is what the checkpoint holds: a session resumed continues it, a restart clears it.
        state.reset_history(session_id, lease, saved["history"] if saved else [])
        # TensorBoard: the event files the training writes are copied to the session's folder while it runs.
        tensorboard = tensorboard_logs.session_collector(
            storage.session_dir(settings, session_id) / "tensorboard", Path(job["tensorboard_dir"]), scratch
        )
        with tensorboard.running():
            outcome = run_in_child(
                settings,
                scratch,
                job,
                gpus,
                SessionSink(session_id, lease, session.progress),
                log_path,
                lambda req: child_requests.answer(settings, session.design, req, workspace.granted),
                should_stop,
            )
        return _conclude(settings, session, lease, outcome, workspace.out)
    except Exception as exc:
        log.exception("session %s failed in the worker", session_id)
        error = ErrorInfo(
            type(exc).__name__, f"Internal error in the worker: {exc}", traceback=traceback.format_exc()[-4000:]
        )
        state.finish(session_id, lease, SessionStatus.FAILED, error=error)
        return SessionStatus.FAILED
    finally:
        if gpus:
            pool.release(gpus)
        workspace.remove()


def _seed_continued(settings: Settings, design: dict[str, Any], checkpoints: Path) -> None:
    """A continued session without a checkpoint of its own starts from its source's final state."""
    source = design.get("continued_from")
    if isinstance(source, dict) and ckpt.load_checkpoint(checkpoints) is None:
        final = storage.session_dir(settings, int(source["session_id"])) / ckpt.FINAL
        if not ckpt.seed_from(final, checkpoints, source):
            raise TrainingOutputError(f"session {source['session_id']}'s final state is gone; it cannot be continued")


def _conclude(settings: Settings, session: Any, lease: int, outcome: Outcome, out_dir: Path) -> str:
    if outcome.killed_for == "lease_lost":
        return "lost"
    if outcome.killed_for == "shutdown" or (outcome.killed_for is None and outcome.returncode == DRAINED_EXIT_CODE):
        if state.hand_back(session.id, lease, "worker stopped"):
            session_service.publish(session)
        return "handed back"
    checkpoints = storage.session_dir(settings, session.id) / "checkpoint"
    result = child_files.read_json(out_dir / "result.json")
    ok = outcome.killed_for is None and outcome.returncode == 0 and isinstance(result, dict)
    if ok:  # the checkpoint written at the end is what POST /sessions/{id}/continue starts from
        ckpt.keep_final(checkpoints, storage.session_dir(settings, session.id) / ckpt.FINAL)
    shutil.rmtree(checkpoints, ignore_errors=True)
    if outcome.killed_for == "abort":
        state.finish(session.id, lease, SessionStatus.ABORTED)
        return SessionStatus.ABORTED
    if ok:
        assert isinstance(result, dict)
        model = _store_model(settings, session, result, out_dir)
        state.finish(
            session.id, lease, SessionStatus.SUCCEEDED, interrupted=bool(result.get("interrupted")), model=model
        )
        return SessionStatus.SUCCEEDED
    state.finish(session.id, lease, SessionStatus.FAILED, error=child_error(out_dir, outcome))
    return SessionStatus.FAILED
