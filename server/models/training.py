"""Training sessions and the trained models they produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.status import SessionStatus
from server.models.base import Base, utcnow
from server.models.projects import MLTask


class TrainingSession(Base):
    """One run of an ML task's frozen design; its status (core.status) changes in server/lifecycle.py only."""

    __tablename__ = "training_sessions"
    __table_args__ = (UniqueConstraint("ml_task_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ml_task_id: Mapped[str] = mapped_column(ForeignKey("ml_tasks.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.QUEUED, index=True)
    interrupted: Mapped[bool] = mapped_column(default=False)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    design: Mapped[dict[str, Any]]
    queue: Mapped[str] = mapped_column(String(32), default="cpu")
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    lease: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None]
    cancel_request: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    history: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[dict[str, Any] | None]
    trained_model_id: Mapped[str | None] = mapped_column(String(200))
    log_path: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any] | None]  # the user's labels (PATCH /sessions/{id}); searchable on the results page
    note: Mapped[str | None] = mapped_column(Text)

    ml_task: Mapped[MLTask] = relationship(lazy="joined")


class TrainedModel(Base):
    """The immutable result of a successful session: metrics, history, preprocessing, model file."""

    __tablename__ = "trained_models"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[str] = mapped_column(String(8))
    ml_task_id: Mapped[str] = mapped_column(String(8), index=True)
    prediction_type: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(64))
    best_epoch: Mapped[int | None]
    metrics: Mapped[dict[str, Any]]
    history: Mapped[list[Any]]
    input_shapes: Mapped[dict[str, Any]]
    n_classes: Mapped[int]
    class_labels: Mapped[list[Any] | None]
    preprocessing: Mapped[dict[str, Any]]
    lineage: Mapped[list[Any] | None]
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[TrainingSession] = relationship()


class DryRun(Base):
    """A design run on one small batch in a worker, to show the model summary or the error."""

    __tablename__ = "dry_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ml_task_id: Mapped[str] = mapped_column(ForeignKey("ml_tasks.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    design: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
