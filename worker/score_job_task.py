"""Batch-scoring jobs in the worker (api.md "Batch jobs"): claim the job once, score the dataset in batches
(server/services/batch_scoring.py), store the result as a new dataset of the project, end the job once.

The model is loaded as …/predict loads it (safe mode, no custom objects), in this worker process: no user code runs
here. A model that needs its training's code cells is run by one sandboxed child for the whole job
(worker/sandboxed_model.py); the reading, preprocessing and writing stay here.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.errors import ApiError
from server.models import Dataset, Job, Project, SavedModel, TrainedModel, utcnow
from server.services import batch_scoring, column_stats, datasets, registry, storage
from server.settings import Settings, get_settings
from server.transactions import with_retry
from worker.gpus import GpuPool
from worker.sandboxed_model import ServedModelFailed, model_runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Plan:
    """What one scoring job reads and where its result goes (read once, before the long work)."""

    job_id: int
    project_id: int
    project_key: str
    model: TrainedModel  # detached: its columns only
    model_path: Path
    source: Path
    files_root: Path | None
    result_name: str
    created_by: int | None
    design: dict[str, Any] | None  # of the model's training: its code cells load a model that needs them
    use_gpu: bool  # it was sent to the gpu queue: the model runs on one of the worker's GPUs, if it has any
    input_columns: list[dict[str, Any]]  # the dataset's columns with their statistics (the result copies them)


class JobFailed(Exception):
    """The job cannot be done; CODE and the message go to the job's error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _claim(job_id: int, worker: str) -> bool:
    """Take the queued job JOB_ID for WORKER; False when it is not queued (taken, aborted, or a redelivery)."""

    def claim(db: Any) -> bool:
        now = utcnow()
        values = {"status": "running", "worker": worker, "started_at": now, "heartbeat_at": now}
        query = update(Job).where(Job.id == job_id, Job.status == "queued").values(**values)
        return bool(db.execute(query).rowcount)

    return with_retry(claim, f"claim job {job_id}")


def _end(job_id: int, status: str, **values: Any) -> bool:
    """End the running job JOB_ID with STATUS; False when it is no longer running (the reconciler ended it)."""

    def end(db: Any) -> bool:
        query = update(Job).where(Job.id == job_id, Job.status == "running")
        return bool(db.execute(query.values(status=status, finished_at=utcnow(), **values)).rowcount)

    return with_retry(end, f"end job {job_id}")


def read_inputs(db: Any, settings: Settings, job_id: int) -> tuple[Job, SavedModel, Dataset, Any, TrainedModel, Path]:
    """JOB_ID's row, saved model, dataset, version, trained model and model file, checked again (any may have gone
    since the submit)."""
    job = db.get(Job, job_id)
    if job is None:
        raise JobFailed("job_deleted", f"Job {job_id} was deleted (with its project).")
    saved = db.get(SavedModel, job.saved_model_id) if job.saved_model_id else None
    dataset = db.get(Dataset, job.dataset_id) if job.dataset_id else None
    if saved is None or dataset is None:
        raise JobFailed("input_deleted", "The saved model or the dataset was deleted before the job started.")
    try:
        version = registry.version_of(db, saved, job.version_id)
        model_path = registry.file_path(settings, version)
    except ApiError as exc:
        raise JobFailed(exc.code, exc.detail) from None
    model = db.get(TrainedModel, version.trained_model_id)
    if model is None:
        raise JobFailed("not_scorable", f"Version {version.version_id} has no preprocessing to score rows with.")
    return job, saved, dataset, version, model, model_path


def _plan(settings: Settings, job_id: int) -> _Plan:
    """The plan of JOB_ID, its inputs checked again (the dataset or version may have gone since the submit)."""

    def read(db: Any) -> _Plan:
        job, saved, dataset, version, model, model_path = read_inputs(db, settings, job_id)
        present = {c["name"] for c in dataset.columns}
        missing = [c for c in batch_scoring.required_columns(model.preprocessing or {}) if c not in present]
        if missing:
            raise JobFailed("missing_columns", f"The dataset lacks column(s) the model needs: {', '.join(missing)}.")
        project = db.get(Project, job.project_id)
        design = model.session.design if model.session is not None else None
        db.expunge(model)
        name = f"{dataset.name[:120]} scored by {saved.name[:40]} {version.version_id} (job {job_id})"
        return _Plan(
            job_id=job_id,
            project_id=job.project_id,
            project_key=project.key,
            model=model,
            model_path=model_path,
            source=datasets.parquet_path(settings, dataset),
            files_root=datasets.files_root(settings, dataset) if dataset.kind == "images" else None,
            result_name=name,
            created_by=job.created_by,
            design=design,
            use_gpu=job.queue == "gpu",
            input_columns=list(dataset.columns),
        )

    return with_retry(read, f"read job {job_id}")


def _progress(job_id: int) -> batch_scoring.Progress:
    """Record each batch's progress (and a sign of life); False once the job is aborted or no longer running."""

    def report(rows: int, failed: int) -> bool:
        def write(db: Any) -> bool:
            values = {"rows_done": rows, "rows_failed": failed, "heartbeat_at": utcnow()}
            if not db.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values)).rowcount:
                return False
            return db.scalar(select(Job.cancel_request).where(Job.id == job_id)) != "abort"

        return with_retry(write, f"progress of job {job_id}")

    return report


def throttled_progress(settings: Settings, job_id: int, staging: Path | None = None) -> batch_scoring.Progress:
    """JOB_ID's progress callback: written (with a heartbeat, and the look for an abort) at most every
    FITSTUDIO_JOB_PROGRESS_EVERY_S, since one SQL write per batch cost more than a fast batch's scoring (the job's
    end writes the final counts); STAGING is touched then too."""
    report = _progress(job_id)
    last = [time.monotonic()]

    def progress(rows: int, failed: int) -> bool:
        if time.monotonic() - last[0] < settings.job_progress_every_s:
            return True
        last[0] = time.monotonic()
        if staging is not None:
            os.utime(staging)  # a live job's staging folder never looks old to the orphan sweep (worker/temp_sweep.py)
        return report(rows, failed)

    return progress


def result_columns(parquet: Path, sample: Any, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The result's columns with their statistics: an input column's are the scored dataset's own (the same values:
    reading them again cost most of a large job's end), the prediction columns' computed from PARQUET. An image
    column is described again: in the result it is a plain text column of paths."""
    kept = {c["name"]: c for c in inputs if c.get("stats") is not None and c.get("type") != "image"}
    schema = datasets.schema_of(sample, set())
    computed = column_stats.compute(parquet, [c for c in schema if c["name"] not in kept])
    made = {c["name"]: c for c in computed}
    return [kept.get(c["name"]) or made[c["name"]] for c in schema]


def _store(settings: Settings, plan: _Plan, staging: Path, scored: batch_scoring.Scored) -> int | None:
    """Make STAGING (data.parquet written) the project's new dataset and end the job succeeded, in one transaction;
    None (nothing kept) when the job was ended meanwhile."""
    columns = result_columns(staging / "data.parquet", scored.sample, plan.input_columns)
    size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())

    def store(db: Any) -> int | None:
        row = Dataset(
            project_id=plan.project_id,
            name=plan.result_name,
            kind="tabular",
            n_rows=scored.n_rows,
            columns=columns,
            path="",
            size_bytes=size,
            created_by=plan.created_by,
        )
        db.add(row)
        db.flush()
        folder = storage.dataset_dir(settings, plan.project_key, row.id)
        row.path = str(folder.relative_to(settings.data_root))
        values = {"status": "succeeded", "finished_at": utcnow(), "result_dataset_id": row.id}
        values |= {"rows_done": scored.n_rows, "rows_failed": scored.failed, "failures": scored.failures}
        values |= {"imputed": scored.counts.imputed, "unseen": scored.counts.unseen}
        if not db.execute(update(Job).where(Job.id == plan.job_id, Job.status == "running").values(**values)).rowcount:
            db.rollback()
            return None
        if folder.exists():  # the leftover of a store that never committed: no row holds this new id
            storage.remove_tree(folder, settings.data_root)
        staging.rename(folder)
        try:
            db.commit()
        except BaseException:
            folder.rename(staging)  # removed with the staging folder by the caller
            raise
        return row.id

    return with_retry(store, f"store the result of job {plan.job_id}")


def runner_for(settings: Settings, plan: Any, pool: GpuPool | None) -> Any:
    """The model runner of a job's PLAN (model_path, design, job_id, use_gpu): a context manager."""
    label = f"job{plan.job_id}"
    return model_runner(settings, plan.model_path, plan.design, label, pool if plan.use_gpu else None)


def _score(settings: Settings, plan: _Plan, pool: GpuPool | None) -> str:
    """Score into a staging folder, then store it; the staging folder never outlives this call."""
    staging = storage.dataset_staging_dir(settings, plan.project_key)
    progress = throttled_progress(settings, plan.job_id, staging)

    try:
        staging.mkdir(parents=True)
        with runner_for(settings, plan, pool) as runner:
            scored = batch_scoring.score_file(
                plan.model,
                plan.model_path,
                plan.source,
                staging / "data.parquet",
                plan.files_root,
                batch_scoring.batch_rows_for(plan.model, settings.score_batch_rows),
                progress,
                runner,
            )
        try:
            dataset_id = _store(settings, plan, staging, scored)
        except IntegrityError:
            message = "The result dataset could not be stored: its name is taken or the project was deleted."
            raise JobFailed("result_not_stored", message) from None
        return "succeeded" if dataset_id is not None else "ended elsewhere"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _no_gpu_in_this_process() -> None:
    """Keep TensorFlow in the worker process off the GPUs: they belong to the trainings' children (TensorFlow would
    otherwise reserve most of every visible GPU's memory on its first operation)."""
    try:
        import tensorflow as tf

        tf.config.set_visible_devices([], "GPU")
    except (ImportError, RuntimeError, ValueError):  # another Keras backend, or TensorFlow already set up here
        pass


def run_job(job_id: int, worker: str, work: Callable[[Settings], str]) -> str:
    """Claim JOB_ID for WORKER if it is still queued, run WORK, end the job as WORK ended; returns how it ended."""
    if not _claim(job_id, worker):
        log.info("job %s is not queued (taken, aborted or ended): skipped", job_id)
        return "skipped"
    settings = get_settings()
    _no_gpu_in_this_process()
    try:
        return work(settings)
    except batch_scoring.Aborted:
        _end(job_id, "aborted")
        return "aborted"
    except (JobFailed, ApiError, ServedModelFailed) as exc:
        _end(job_id, "failed", error={"code": exc.code, "message": str(exc)[:2000]})
        return "failed"
    except Exception as exc:
        log.exception("job %s failed in the worker", job_id)
        _end(job_id, "failed", error={"code": "internal", "message": f"{type(exc).__name__}: {str(exc)[:1000]}"})
        return "failed"


def run_score_job(job_id: int, worker: str, pool: GpuPool | None = None) -> str:
    """Run the scoring job JOB_ID on WORKER (whose GPUs POOL hands out) if it is still queued; how it ended."""
    return run_job(job_id, worker, lambda settings: _score(settings, _plan(settings, job_id), pool))
