"""Analyses: a workbench on one dataset."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.status import SessionStatus
from server.errors import conflict, invalid
from server.models import Analysis, Dataset, MLTask, Project, SavedModelVersion, TrainedModel, TrainingSession, User
from server.services import audit, storage
from server.services.ids import is_sql_int, short_id
from server.settings import Settings


def create(db: Session, user: User, project: Project, dataset_id: int, name: str) -> Analysis:
    """Create an analysis of PROJECT on dataset DATASET_ID (which must be in the same project)."""
    dataset = db.get(Dataset, dataset_id) if is_sql_int(dataset_id) else None
    if dataset is None or dataset.project_id != project.id:
        raise invalid(
            f"Dataset {dataset_id} is not in project {project.key}; "
            f"use an id from GET /projects/{project.key}/datasets.",
            errors=[{"field": "dataset_id", "message": "unknown dataset"}],
            code="unknown_dataset",
        )
    name = (name or "").strip() or f"Analysis of {dataset.name}"
    if len(name) > 200:
        raise invalid("Analysis name must be at most 200 characters.", code="bad_name")
    analysis = Analysis(id=short_id(), project_id=project.id, dataset_id=dataset.id, name=name)
    db.add(analysis)
    db.flush()
    audit.record(db, user, "analysis.create", analysis.id, project=project.key)
    return analysis


def of_project(db: Session, project: Project) -> list[Analysis]:
    """The analyses of PROJECT, oldest first."""
    return list(db.scalars(select(Analysis).where(Analysis.project_id == project.id).order_by(Analysis.created_at)))


def task_counts(db: Session, project: Project) -> dict[str, int]:
    """How many ML tasks each analysis of PROJECT has (analyses without one are left out)."""
    query = (
        select(MLTask.analysis_id, func.count(MLTask.id))
        .join(Analysis, MLTask.analysis_id == Analysis.id)
        .where(Analysis.project_id == project.id)
        .group_by(MLTask.analysis_id)
    )
    return {analysis_id: count for analysis_id, count in db.execute(query).all()}


def as_dict(analysis: Analysis) -> dict[str, object]:
    """The API shape of an analysis."""
    return {
        "id": analysis.id,
        "name": analysis.name,
        "dataset_id": analysis.dataset_id,
        "project_key": analysis.project.key,
        "created_at": analysis.created_at,
    }


def refuse_if_deployed(db: Session, models: list[TrainedModel]) -> None:
    """409 `model_in_use` when one of MODELS is deployed as a saved model version."""
    deployed = db.scalar(
        select(SavedModelVersion).where(SavedModelVersion.trained_model_id.in_([m.id for m in models])).limit(1)
    )
    if deployed is not None:
        raise conflict(
            "model_in_use",
            f"Trained model {deployed.trained_model_id} is deployed as version {deployed.version_id} of saved model "
            f"{deployed.saved_model_id}; delete that version first.",
        )


def delete(db: Session, settings: Settings, user: User, analysis: Analysis) -> None:
    """Delete ANALYSIS with its ML tasks, sessions and trained models (and their files).

    409 while one of its sessions is queued or running, or while one of its models is deployed.
    """
    task_ids = select(MLTask.id).where(MLTask.analysis_id == analysis.id)
    busy = db.scalar(
        select(TrainingSession.id)
        .where(
            TrainingSession.ml_task_id.in_(task_ids),
            TrainingSession.status.in_((SessionStatus.QUEUED, SessionStatus.RUNNING)),
        )
        .limit(1)
    )
    if busy:
        raise conflict("session_running", f"Session {busy} of analysis {analysis.id} is queued or running; abort it.")
    models = list(db.scalars(select(TrainedModel).where(TrainedModel.analysis_id == analysis.id)))
    refuse_if_deployed(db, models)
    folders = [(settings.artifacts / m.path).parent for m in models]
    # The sessions' own folders (log, checkpoint, TensorBoard logs) go with them.
    session_ids = db.scalars(select(TrainingSession.id).where(TrainingSession.ml_task_id.in_(task_ids))).all()
    folders += [storage.session_dir(settings, sid) for sid in session_ids]
    ident = analysis.id
    db.delete(analysis)
    db.flush()
    for folder in folders:
        if folder.exists():
            storage.remove_tree(folder, settings.artifacts)
    audit.record(db, user, "analysis.delete", ident)
