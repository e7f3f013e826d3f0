"""managed folders

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "managed_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_managed_folders_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_managed_folders_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_managed_folders")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_managed_folders_project_id")),
    )
    with op.batch_alter_table("managed_folders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_managed_folders_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("managed_folders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_managed_folders_project_id"))

    op.drop_table("managed_folders")
