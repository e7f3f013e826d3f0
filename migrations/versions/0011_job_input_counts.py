"""jobs.imputed and jobs.unseen: per input column, the values a scoring or evaluation job imputed and the
categories the model did not know

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imputed", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("unseen", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("unseen")
        batch_op.drop_column("imputed")
