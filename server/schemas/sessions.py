"""Response bodies of training sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class SessionOut(BaseModel):
    """A training session: status, progress, history, error."""

    id: int
    ml_task_id: str
    number: int
    status: str
    interrupted: bool
    queued_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    worker: str | None
    queue: str
    submitted_by: str | None
    metric: str | None
    progress: dict[str, Any]  # {epoch, epochs, batch, batches, phase, phase_started_at, phases: [{phase, started_at}]}
    queue_position: int | None = None  # 1 for the next to start on its queue; null unless queued
    history: list[dict[str, Any]]
    error: dict[str, Any] | None
    trained_model_id: str | None
    continued_from: int | None = None  # the session this one continues (POST /sessions/{id}/continue)
    tags: list[str] = []  # the user's labels (PATCH /sessions/{id})
    note: str = ""  # the user's free-text note
