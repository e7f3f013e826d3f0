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
    progress: dict[str, Any]
    history: list[dict[str, Any]]
    error: dict[str, Any] | None
    trained_model_id: str | None
