"""Shadow pairs carry their shadow prediction's log time, so log retention can forget them with its day.

Pairs are backfilled from the log; a pair whose shadow row is already gone is deleted (no refresh
can reach it again, and the comparison totals keep what it counted).

Revision ID: 0009_shadow_pairs_retention
Revises: 0008_drop_log_model_time_index
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_shadow_pairs_retention"
down_revision = "0008_drop_log_model_time_index"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("shadow_pairs", sa.Column("shadow_created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE shadow_pairs SET shadow_created_at = (SELECT min(l.created_at) FROM prediction_logs l "
        "WHERE l.prediction_id = shadow_pairs.shadow_prediction_id)"
    )
    op.execute("DELETE FROM shadow_pairs WHERE shadow_created_at IS NULL")
    op.alter_column("shadow_pairs", "shadow_created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(op.f("ix_shadow_pairs_shadow_created_at"), "shadow_pairs", ["shadow_created_at"])


def downgrade():
    op.drop_index(op.f("ix_shadow_pairs_shadow_created_at"), table_name="shadow_pairs")
    op.drop_column("shadow_pairs", "shadow_created_at")
