"""Calibration bins: per version and confidence bin, labelled predictions, how many were right, and
their confidences' sum, folded by the stats refresh beside the outcome totals.

Revision ID: 0013_calibration_bins
Revises: 0012_rollout_gates
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_calibration_bins"
down_revision = "0012_rollout_gates"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calibration_bins",
        sa.Column("model_id", sa.Uuid(), primary_key=True),
        sa.Column("bin", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("labelled", sa.BigInteger(), nullable=False),
        sa.Column("correct", sa.BigInteger(), nullable=False),
        sa.Column("confidence_sum", sa.Numeric(24, 4), nullable=False),
    )
    # Predictions already counted have no bin yet: the next refresh counts them into one. Forgetting
    # what was counted makes the refresh fold every stored outcome again, exactly once.
    op.execute("DELETE FROM outcome_stats")
    op.execute("DELETE FROM confusion_cells")
    op.execute(
        "UPDATE feedback SET counted_model_id = NULL, counted_label = NULL, counted_prediction = NULL, "
        "counted_reward = NULL WHERE counted_model_id IS NOT NULL"
    )
    op.execute("UPDATE stats_cursor SET feedback_position = 0")


def downgrade():
    op.drop_table("calibration_bins")
