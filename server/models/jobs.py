"""Jobs: long work on a whole dataset run by a worker (scoring, evaluation), and evaluations: api.md "Batch jobs"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, utcnow


class Job(Base):
    """One job; its status moves queued → running → succeeded/failed/aborted only through guarded UPDATEs
    (server/services/jobs.py, worker/score_job_task.py), so a job is claimed and ended once."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "score" or "evaluate"
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    saved_model_id: Mapped[int | None] = mapped_column(ForeignKey("saved_models.id", ondelete="SET NULL"))
    version_id: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(32), default="cpu")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_failed: Mapped[int] = mapped_column(default=0)  # rows that could not be scored (kept, with no prediction)
    failures: Mapped[list[Any] | None]  # the first few unscorable rows: [{row, message}]
    imputed: Mapped[dict[str, Any] | None]  # per input column, the values imputed in the rows scored
    unseen: Mapped[dict[str, Any] | None]  # per categorical input column, the values none of the model's categories
    result_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    result_evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id", ondelete="SET NULL"))
    error: Mapped[dict[str, Any] | None]
    cancel_request: Mapped[str | None] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # written with each batch's progress: the reconciler's sign of life
    finished_at: Mapped[datetime | None]


class Evaluation(Base):
    """A saved model version measured on a labelled dataset by an evaluation job (server/services/evaluations.py)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    saved_model_id: Mapped[int] = mapped_column(ForeignKey("saved_models.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    dataset_name: Mapped[str] = mapped_column(String(255))  # still readable once the dataset is deleted
    job_id: Mapped[int | None]  # the job that made it (no foreign key: a job's row points here, not the reverse)
    prediction_type: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(255))
    n_rows: Mapped[int]  # rows measured
    rows_failed: Mapped[int] = mapped_column(default=0)  # rows left out: no usable target, or not scorable
    metrics: Mapped[dict[str, Any]]  # the task's catalogue metrics (core/metrics.py), NaN stored as None
    charts: Mapped[dict[str, Any]]  # confusion matrix, ROC, predicted-vs-actual and charts (core/evaluation.py)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
