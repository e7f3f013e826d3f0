"""Response bodies of the service endpoints: liveness, readiness, workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class HealthOut(BaseModel):
    """GET /healthz."""

    status: str


class ReadinessOut(BaseModel):
    """GET /readyz: "ready" or "not_ready", and each check's "ok" or why not."""

    status: str
    checks: dict[str, str]


class WorkerOut(BaseModel):
    """A worker as last seen through its heartbeat."""

    name: str
    hostname: str
    state: str
    queues: list[Any]
    gpus: list[Any]
    concurrency: int
    current_sessions: list[Any]
    busy: int
    started_at: datetime
    last_heartbeat: datetime
    stopped_at: datetime | None
    isolation: str | None
    isolated: bool | None
    accepts_trainings: bool | None
