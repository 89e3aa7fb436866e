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

# The bins of every outcome counted so far (tests/test_calibration.py checks it against the fold).
BACKFILL = """
INSERT INTO calibration_bins (model_id, bin, labelled, correct, confidence_sum)
SELECT f.counted_model_id, LEAST(floor(l.confidence * 10)::int, 9), count(*),
       count(*) FILTER (WHERE f.counted_label = f.counted_prediction),
       coalesce(sum(round(l.confidence::numeric, 4)), 0)
FROM feedback f JOIN prediction_logs l ON l.prediction_id = f.prediction_id
WHERE f.counted_model_id IS NOT NULL AND f.counted_label IS NOT NULL
GROUP BY 1, 2
"""


def upgrade():
    op.create_table(
        "calibration_bins",
        sa.Column("model_id", sa.Uuid(), primary_key=True),
        sa.Column("bin", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("labelled", sa.BigInteger(), nullable=False),
        sa.Column("correct", sa.BigInteger(), nullable=False),
        sa.Column("confidence_sum", sa.Numeric(24, 4), nullable=False),
    )
    # The outcomes already counted go into their bins here, from what each feedback row says was
    # counted and its log's confidence: the totals stay as they are, and the refresh goes on from there.
    op.execute(BACKFILL)


def downgrade():
    op.drop_table("calibration_bins")
