"""jobs: long work on a whole dataset run by a worker (batch scoring)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(f"fk_jobs_{column}_{table}"), ondelete=ondelete)


def upgrade() -> None:
    """Apply this revision."""
    when = sa.DateTime(timezone=True)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("saved_model_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=True),
        sa.Column("result_dataset_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("cancel_request", sa.String(length=16), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("published_at", when, nullable=True),
        sa.Column("started_at", when, nullable=True),
        sa.Column("heartbeat_at", when, nullable=True),
        sa.Column("finished_at", when, nullable=True),
        _fk("project_id", "projects", "CASCADE"),
        _fk("saved_model_id", "saved_models", "SET NULL"),
        _fk("dataset_id", "datasets", "SET NULL"),
        _fk("result_dataset_id", "datasets", "SET NULL"),
        _fk("created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_jobs_project_id"))
    op.drop_table("jobs")
