"""Evaluation jobs in the worker (api.md "Batch jobs"): claim the job once, measure the saved model version on the
labelled dataset in batches (server/services/batch_evaluation.py), store the evaluation, end the job once.

The model is loaded and scored as batch scoring does it (worker/score_job_task.py): in this process, safe mode,
no user code; or, when it needs its training's code cells, by one sandboxed child (worker/sandboxed_model.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update

from server.errors import ApiError
from server.models import Evaluation, Job, TrainedModel, utcnow
from server.services import batch_evaluation, batch_scoring, datasets, jobs
from server.settings import Settings
from server.transactions import with_retry
from worker.gpus import GpuPool
from worker.score_job_task import JobFailed, read_inputs, run_job, runner_for, throttled_progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Plan:
    """What one evaluation reads and what its row records (read once, before the long work)."""

    job_id: int
    project_id: int
    saved_model_id: int
    version_id: str
    dataset_id: int
    dataset_name: str
    model: TrainedModel  # detached: its columns only
    model_path: Path
    source: Path
    files_root: Path | None
    target: str
    created_by: int | None
    design: dict[str, Any] | None  # of the model's training: its code cells load a model that needs them
    use_gpu: bool  # it was sent to the gpu queue: the model runs on one of the worker's GPUs, if it has any


def _plan(settings: Settings, job_id: int) -> _Plan:
    """The plan of JOB_ID, its inputs checked again (the dataset or version may have gone since the submit)."""

    def read(db: Any) -> _Plan:
        job, saved, dataset, version, model, model_path = read_inputs(db, settings, job_id)
        target = jobs.target_of(db, model)
        try:
            jobs.check_columns(model, dataset, target)
        except ApiError as exc:
            raise JobFailed(exc.code, exc.detail) from None
        design = model.session.design if model.session is not None else None
        db.expunge(model)
        return _Plan(
            job_id=job_id,
            project_id=job.project_id,
            saved_model_id=saved.id,
            version_id=version.version_id,
            dataset_id=dataset.id,
            dataset_name=dataset.name[:255],
            model=model,
            model_path=model_path,
            source=datasets.parquet_path(settings, dataset),
            files_root=datasets.files_root(settings, dataset) if dataset.kind == "images" else None,
            target=target,
            created_by=job.created_by,
            design=design,
            use_gpu=job.queue == "gpu",
        )

    return with_retry(read, f"read job {job_id}")


def _store(plan: _Plan, done: batch_evaluation.Evaluated) -> int | None:
    """Store the evaluation and end the job succeeded, in one transaction; None when the job was ended meanwhile."""

    def store(db: Any) -> int | None:
        row = Evaluation(
            project_id=plan.project_id,
            saved_model_id=plan.saved_model_id,
            version_id=plan.version_id,
            dataset_id=plan.dataset_id,
            dataset_name=plan.dataset_name,
            job_id=plan.job_id,
            prediction_type=plan.model.prediction_type,
            target=plan.target[:255],
            n_rows=done.n_rows - done.failed,
            rows_failed=done.failed,
            metrics=done.metrics,
            charts=done.charts,
            created_by=plan.created_by,
        )
        db.add(row)
        db.flush()
        values = {"status": "succeeded", "finished_at": utcnow(), "result_evaluation_id": row.id}
        values |= {"rows_done": done.n_rows, "rows_failed": done.failed, "failures": done.failures}
        values |= {"imputed": done.counts.imputed, "unseen": done.counts.unseen}
        if not db.execute(update(Job).where(Job.id == plan.job_id, Job.status == "running").values(**values)).rowcount:
            db.rollback()
            return None
        db.commit()
        return row.id

    return with_retry(store, f"store the evaluation of job {plan.job_id}")


def _evaluate(settings: Settings, plan: _Plan, pool: GpuPool | None) -> str:
    """Measure, then store."""
    with runner_for(settings, plan, pool) as runner:
        done = batch_evaluation.evaluate_file(
            plan.model,
            plan.model_path,
            plan.source,
            plan.files_root,
            plan.target,
            batch_scoring.batch_rows_for(plan.model, settings.score_batch_rows),
            throttled_progress(settings, plan.job_id),
            runner,
        )
    return "succeeded" if _store(plan, done) is not None else "ended elsewhere"


def run_evaluate_job(job_id: int, worker: str, pool: GpuPool | None = None) -> str:
    """Run the evaluation job JOB_ID on WORKER (whose GPUs POOL hands out) if it is still queued; how it ended."""
    return run_job(job_id, worker, lambda settings: _evaluate(settings, _plan(settings, job_id), pool))
