"""Operational tables: worker heartbeats and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, utcnow


class WorkerRecord(Base):
    """A Celery worker as last seen through its heartbeat."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    queues: Mapped[list[Any]]
    gpus: Mapped[list[Any]]
    concurrency: Mapped[int] = mapped_column(default=1)
    current_sessions: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_heartbeat: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]
    # How the worker runs user code, in words (worker.sandbox), written at its start; None before revision 0004.
    isolation: Mapped[str | None] = mapped_column(Text)
    isolated: Mapped[bool | None]  # the training sandbox works on this worker
    accepts_trainings: Mapped[bool | None]  # False: it cannot isolate user code and consumes no queue


class AuditEvent(Base):
    """Who did what, when: submissions, deployments, deletions, membership changes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None]
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any] | None]
