"""Dashboard: predictions per version per minute, folded by the stats refresh.

Revision ID: 0003_dashboard
Revises: 0002_experiments
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_dashboard"
down_revision = "0002_experiments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "prediction_minutes",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "minute", name=op.f("pk_prediction_minutes")),
    )
    op.create_index("ix_prediction_minutes_minute", "prediction_minutes", ["minute"])


def downgrade():
    op.drop_index("ix_prediction_minutes_minute", table_name="prediction_minutes")
    op.drop_table("prediction_minutes")
