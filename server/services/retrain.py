"""Retrain (api.md "Batch jobs"): a saved model's active version's frozen design trained again as a new session,
on the same dataset or another with the same columns; its success becomes a new version of that saved model.

The route submits (checked, committed, then published like any session); the worker calls `on_success` in the
transaction that records the session's success, so a retrain that succeeds always has its version and a failed one
has none.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from sqlalchemy.orm import Session

from core.status import SessionStatus
from server.errors import ApiError, conflict, invalid
from server.models import Dataset, SavedModel, SavedModelVersion, TrainedModel, TrainingSession, User
from server.services import access, model_import, registry, sessions
from server.services.batch_scoring import required_columns
from server.settings import get_settings

log = logging.getLogger(__name__)

MARKER = "retrain_of"  # the design key naming the saved model and version a session retrains


def source_model(db: Session, saved: SavedModel, version: SavedModelVersion) -> TrainedModel:
    """The trained model behind VERSION, whose session holds the design; 409 no_design for an imported version."""
    if model_import.is_imported(version):
        raise conflict(
            "no_design",
            f"Version {version.version_id} of saved model {saved.id} was imported: fitstudio has no design to train "
            "again. Fine-tune it in a code cell with get_keras_model_from_saved_model instead.",
        )
    model = db.get(TrainedModel, version.trained_model_id)
    if model is None or model.session is None or not model.session.design:
        raise conflict(
            "no_design", f"Version {version.version_id} of saved model {saved.id} has no stored design to train again."
        )
    return model


def check_dataset(model: TrainedModel, target: str, dataset: Dataset) -> None:
    """422 missing_columns naming every input column and the target that DATASET lacks."""
    present = {c["name"] for c in dataset.columns or []}
    wanted = [*required_columns(model.preprocessing or {}), target]
    missing = [c for c in dict.fromkeys(wanted) if c not in present]
    if missing:
        raise invalid(
            f"Dataset {dataset.id} lacks column(s) the retrained design needs: {', '.join(missing[:20])}.",
            errors=[{"field": c, "message": "missing"} for c in missing],
            code="missing_columns",
        )


def _dataset(db: Session, user: User, saved: SavedModel, dataset_id: int) -> Dataset:
    """Dataset DATASET_ID, readable by USER and in SAVED's project."""
    dataset = access.dataset(db, user, dataset_id)
    if dataset.project_id != saved.project_id:
        raise invalid(
            f"Dataset {dataset_id} belongs to another project than saved model {saved.id}; upload it to this project.",
            code="other_project",
        )
    return dataset


def retrain_design(
    user: User, source: TrainingSession, saved: SavedModel, version: SavedModelVersion, dataset_id: int, activate: bool
) -> dict[str, Any]:
    """SOURCE's frozen design on DATASET_ID, submitted by USER, marked as a retrain of VERSION of SAVED."""
    design = copy.deepcopy(source.design)
    design.pop("continued_from", None)  # a retrain trains from scratch, whatever its source started from
    design["dataset_id"] = dataset_id
    design["submitted_by"] = user.username
    design[MARKER] = {
        "saved_model_id": saved.id,
        "version_id": version.version_id,
        "trained_model_id": version.trained_model_id,
        "activate": activate,
    }
    return design


def submit(db: Session, user: User, saved: SavedModel, dataset_id: int | None, activate: bool) -> TrainingSession:
    """Queue a session training SAVED's active version's design again (on DATASET_ID when given): commit, publish."""
    version = registry.version_of(db, saved, None)
    model = source_model(db, saved, version)
    source = model.session
    dataset = _dataset(db, user, saved, dataset_id if dataset_id is not None else source.design["dataset_id"])
    check_dataset(model, str(source.design.get("target") or ""), dataset)
    design = retrain_design(user, source, saved, version, dataset.id, activate)
    task_id = source.ml_task_id
    number = sessions.next_number(db, task_id)
    session = TrainingSession(
        ml_task_id=task_id,
        number=number,
        status=SessionStatus.QUEUED,
        submitted_by=user.id,
        design=design,
        queue=sessions.queue_of(design["settings"]),
        progress={"epoch": 0, "epochs": design["settings"]["training"]["epochs"], "batch": 0, "batches": None},
        history=[],
    )
    return sessions.enqueue(
        db, user, session, "model.retrain", f"{saved.id}/{version.version_id}", dataset=dataset.id, activate=activate
    )


def on_success(db: Session, session_id: int, model: TrainedModel) -> SavedModelVersion | None:
    """When session SESSION_ID retrains a saved model, name the retrained version in MODEL's lineage and deploy MODEL
    as the saved model's new version (activated when asked); None for other sessions or when the saved model is
    gone (the session's success stands either way)."""
    row = db.get(TrainingSession, session_id)
    mark = (row.design or {}).get(MARKER) if row is not None else None
    if not isinstance(mark, dict):
        return None
    entry = {"kind": "retrained_from", **{k: mark[k] for k in ("saved_model_id", "version_id", "trained_model_id")}}
    # Idempotent: the finishing transaction may run again after a database error.
    model.lineage = [
        *(e for e in model.lineage or [] if not (isinstance(e, dict) and e.get("kind") == "retrained_from")),
        entry,
    ]
    db.flush()
    user = db.get(User, row.submitted_by) if row.submitted_by is not None else None
    try:
        with db.begin_nested():
            return registry.deploy(
                db, get_settings(), user, model, int(mark["saved_model_id"]), None, None, bool(mark["activate"])
            )
    except ApiError as exc:  # the saved model was deleted meanwhile: the trained model stays, unversioned
        log.warning("retrain session %s: no new version of saved model %s: %s", session_id, mark["saved_model_id"], exc)
        return None
