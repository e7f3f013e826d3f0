"""Jobs (api.md "Batch jobs"): submit a batch scoring or an evaluation (checked, committed, then published), read,
list, abort.

The worker side is worker/score_job_task.py and worker/evaluate_job_task.py; lost and unpublished jobs are settled
by server/services/job_reconciler.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.errors import conflict, invalid, not_found
from server.models import Dataset, Job, MLTask, Project, SavedModel, SavedModelVersion, TrainedModel, User, utcnow
from server.services import access, audit, model_import, registry
from server.services.batch_scoring import required_columns
from server.services.ids import is_sql_int
from server.settings import Settings

log = logging.getLogger(__name__)

SCORE_TASK = "fitstudio.score_job"
TASKS = {"score": SCORE_TASK, "evaluate": "fitstudio.evaluate_job"}  # the worker task of each kind
TERMINAL = ("succeeded", "failed", "aborted")


def _scorable(db: Session, saved: SavedModel, version: SavedModelVersion) -> TrainedModel:
    """The trained model behind VERSION; 409 for an imported version (it has no preprocessing)."""
    if model_import.is_imported(version):
        raise model_import.not_scorable(saved, version)
    model = db.get(TrainedModel, version.trained_model_id)
    if model is None:
        raise not_found("trained model", version.trained_model_id)
    return model


def check_columns(model: TrainedModel, dataset: Dataset, target: str | None = None) -> None:
    """422 missing_columns naming every input column DATASET lacks, and TARGET when given and absent, before any job
    exists."""
    present = {c["name"] for c in dataset.columns}
    missing = [c for c in required_columns(model.preprocessing or {}) if c not in present]
    if target is not None and target not in present:
        inputs = f" and the input column(s) {', '.join(missing[:20])}" if missing else ""
        raise invalid(
            f"Dataset {dataset.id} lacks the target column {target!r} an evaluation measures against{inputs}.",
            errors=[{"field": c, "message": "missing"} for c in [target, *missing]],
            code="missing_columns",
        )
    if missing:
        raise invalid(
            f"Dataset {dataset.id} lacks column(s) the model needs: {', '.join(missing[:20])}.",
            errors=[{"field": c, "message": "missing"} for c in missing],
            code="missing_columns",
        )


def submit(
    db: Session,
    settings: Settings,
    user: User,
    saved: SavedModel,
    dataset_id: int,
    version_id: str | None,
    kind: str,
    use_gpu: bool = False,
) -> Job:
    """Check and queue a job of KIND ("score", or "evaluate": the dataset must hold the target too) on DATASET_ID
    with SAVED's version, on the gpu queue when USE_GPU; committed, then published."""
    version = registry.version_of(db, saved, version_id)
    dataset = access.dataset(db, user, dataset_id)
    if dataset.project_id != saved.project_id:
        raise invalid(
            f"Dataset {dataset_id} belongs to another project than saved model {saved.id}; upload it to this project.",
            code="other_project",
        )
    model = _scorable(db, saved, version)
    check_columns(model, dataset, target_of(db, model) if kind == "evaluate" else None)
    job = Job(
        project_id=saved.project_id,
        kind=kind,
        status="queued",
        saved_model_id=saved.id,
        version_id=version.version_id,
        dataset_id=dataset.id,
        rows_total=dataset.n_rows,
        created_by=user.id,
        queue="gpu" if use_gpu else "cpu",
    )
    db.add(job)
    db.flush()
    project = db.get(Project, saved.project_id)
    audit.record(db, user, f"job.{kind}", str(job.id), project=project.key if project else None, saved_model=saved.id)
    db.commit()
    publish(db, settings, job)
    return job


def target_of(db: Session, model: TrainedModel) -> str:
    """The target column MODEL was trained to predict (its session's frozen design, else its ML task's)."""
    design = (model.session.design if model.session else None) or {}
    if design.get("target"):
        return str(design["target"])
    task = db.get(MLTask, model.ml_task_id)
    return task.target if task else ""


def publish(db: Session, settings: Settings, job: Job) -> bool:
    """Put JOB's task on its queue and note when; a failed publish is repaired by the reconciler."""
    from server.broker import publish  # Celery loads on the first publish, not at API start-up

    try:
        publish(settings, TASKS[job.kind], job.id, job.queue)
    except Exception:  # the job stays queued in SQL; the reconciler publishes it again
        log.exception("publishing job %s failed; the reconciler will retry", job.id)
        return False
    db.execute(update(Job).where(Job.id == job.id).values(published_at=utcnow()))
    db.commit()
    return True


def get(db: Session, user: User, job_id: int, needed: str = "reader") -> Job:
    """The job JOB_ID if USER holds NEEDED in its project (404 as for a missing one otherwise)."""
    missing = not_found("job", job_id)
    row = db.get(Job, job_id) if is_sql_int(job_id) else None
    if row is None:
        raise missing
    project = db.get(Project, row.project_id)
    if project is None:
        raise missing
    access.check(db, user, project, needed, missing)
    return row


def of_project(db: Session, project: Project) -> list[Job]:
    """PROJECT's jobs, newest first."""
    return list(db.scalars(select(Job).where(Job.project_id == project.id).order_by(Job.id.desc())))


def of_saved_model(db: Session, saved: SavedModel, limit: int = 20) -> list[Job]:
    """SAVED's latest LIMIT jobs, newest first (its page lists them)."""
    query = select(Job).where(Job.saved_model_id == saved.id).order_by(Job.id.desc()).limit(limit)
    return list(db.scalars(query))


def abort(db: Session, user: User, job: Job) -> Job:
    """Abort JOB: a queued one ends aborted now; a running one stops before its next batch (the worker ends it)."""
    if job.status in TERMINAL:
        raise conflict("already_ended", f"Job {job.id} already ended ({job.status}).")
    ended = db.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued")
        .values(status="aborted", finished_at=utcnow(), cancel_request="abort")
    ).rowcount
    if not ended:  # it was claimed meanwhile: ask the worker
        db.execute(update(Job).where(Job.id == job.id, Job.status == "running").values(cancel_request="abort"))
    project = db.get(Project, job.project_id)
    audit.record(db, user, "job.abort", str(job.id), project=project.key if project else None)
    db.commit()
    db.refresh(job)
    return job


def as_dict(job: Job) -> dict[str, Any]:
    """The API shape of a job."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "saved_model_id": job.saved_model_id,
        "version_id": job.version_id,
        "dataset_id": job.dataset_id,
        "progress": {"rows": job.rows_done, "total": job.rows_total, "failed": job.rows_failed},
        "failures": job.failures or [],
        "imputed": job.imputed or {},
        "unseen": job.unseen or {},
        "result": {"dataset_id": job.result_dataset_id, "evaluation_id": job.result_evaluation_id},
        "error": job.error,
        "worker": job.worker,
        "queue": job.queue,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
