"""Continue training: a new session of the same ML task that starts from a finished session's final state."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from core.status import SessionStatus
from server.errors import conflict, invalid
from server.models import TrainingSession, User
from server.schemas.continue_training import MAX_EPOCHS
from server.services import sessions, storage
from server.settings import get_settings

FINAL_STATE = ("final", "state.json")  # where the worker keeps a session's final state (worker/runtime/checkpoint.py)


def last_epoch(source: TrainingSession) -> int:
    """The number of SOURCE's last completed epoch (0 when none completed)."""
    return max((int(h["epoch"]) for h in source.history or [] if isinstance(h, dict) and "epoch" in h), default=0)


def check_continuable(source: TrainingSession) -> None:
    """409 unless SOURCE ended succeeded (interrupted included) and its final state is on disk."""
    if source.status != SessionStatus.SUCCEEDED:
        raise conflict(
            "not_continuable", f"Session {source.id} is {source.status}; only a succeeded session can be continued."
        )
    if not storage.session_dir(get_settings(), source.id).joinpath(*FINAL_STATE).is_file():
        raise conflict(
            "no_final_state",
            f"Session {source.id} has no final state to continue from (advanced mode, or trained before sessions "
            "kept one).",
        )


def continued_design(user: User, source: TrainingSession, epochs: int) -> dict[str, Any]:
    """SOURCE's frozen design for EPOCHS more epochs, submitted by USER, naming the session it continues."""
    design = copy.deepcopy(source.design)
    total = last_epoch(source) + epochs
    if total > MAX_EPOCHS:
        raise invalid(f"The continued session would train {total} epochs in all; at most {MAX_EPOCHS}.", code="invalid")
    design["settings"]["training"]["epochs"] = total
    design["submitted_by"] = user.username
    design["continued_from"] = {
        "session_id": source.id,
        "session_number": source.number,
        "trained_model_id": source.trained_model_id,
    }
    return design


def submit(db: Session, user: User, source: TrainingSession, epochs: int) -> TrainingSession:
    """Queue a session that trains EPOCHS more epochs from SOURCE's final state: commit, then publish."""
    check_continuable(source)
    design = continued_design(user, source, epochs)
    task_id = source.ml_task_id
    number = sessions.next_number(db, task_id)
    total = design["settings"]["training"]["epochs"]
    session = TrainingSession(
        ml_task_id=task_id,
        number=number,
        status=SessionStatus.QUEUED,
        submitted_by=user.id,
        design=design,
        queue=source.queue,
        progress={"epoch": last_epoch(source), "epochs": total, "batch": 0, "batches": None},
        history=copy.deepcopy(source.history or []),  # what the worker restores with the state: no gap to show
    )
    return sessions.enqueue(
        db, user, session, "session.continue", f"{task_id}/s{number}", continued_from=source.id, epochs=epochs
    )
