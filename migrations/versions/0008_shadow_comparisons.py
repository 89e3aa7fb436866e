"""Shadow comparisons: each mirrored prediction's counted contribution, and the totals per pair of versions.

Revision ID: 0006_shadow_comparisons
Revises: 0005_partitioned_logs (to be rechained after the partitioning of prediction_logs)
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_shadow_comparisons"
down_revision = "0005_partitioned_logs"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade():
    # The refresh finds the shadows of newly stored served rows and of new feedback through
    # ix_prediction_logs_shadow_of, which 0005_partitioned_logs made.
    op.create_table(
        "shadow_pairs",
        sa.Column("shadow_prediction_id", sa.Uuid(), nullable=False),
        sa.Column("shadow_model_id", sa.Uuid(), nullable=False),
        sa.Column("served_model_id", sa.Uuid(), nullable=False),
        sa.Column("shadow_label", sa.String(length=8), nullable=False),
        sa.Column("served_label", sa.String(length=8), nullable=False),
        sa.Column("true_label", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("shadow_prediction_id", name=op.f("pk_shadow_pairs")),
    )
    op.create_table(
        "shadow_comparisons",
        sa.Column("shadow_model_id", sa.Uuid(), nullable=False),
        sa.Column("served_model_id", sa.Uuid(), nullable=False),
        sa.Column("pairs", sa.BigInteger(), nullable=False),
        sa.Column("agreements", sa.BigInteger(), nullable=False),
        sa.Column("labelled_pairs", sa.BigInteger(), nullable=False),
        sa.Column("shadow_correct", sa.BigInteger(), nullable=False),
        sa.Column("served_correct", sa.BigInteger(), nullable=False),
        sa.Column("shadow_only_correct", sa.BigInteger(), nullable=False),
        sa.Column("served_only_correct", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("shadow_model_id", "served_model_id", name=op.f("pk_shadow_comparisons")),
    )


def downgrade():
    op.drop_table("shadow_comparisons")
    op.drop_table("shadow_pairs")
