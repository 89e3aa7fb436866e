"""Per-batch idempotency for prediction logs, and a quarantine for batches the database refuses.

Revision ID: 0004_batch_ledger
Revises: 0003_rollouts
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_batch_ledger"
down_revision = "0003_rollouts"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "prediction_log_batches",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("stored_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_prediction_log_batches")),
    )
    op.create_index(op.f("ix_prediction_log_batches_stored_at"), "prediction_log_batches", ["stored_at"], unique=False)
    op.create_table(
        "quarantined_batches",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("quarantined_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_batches")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_quarantined_batches_batch_id")),
    )


def downgrade():
    op.drop_table("quarantined_batches")
    op.drop_index(op.f("ix_prediction_log_batches_stored_at"), table_name="prediction_log_batches")
    op.drop_table("prediction_log_batches")
