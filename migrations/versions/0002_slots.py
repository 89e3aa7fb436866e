"""Slots: per-name slot assignments, fractional weights.

Revision ID: 0002_slots
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_slots"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "splits",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("runs", sa.JSON(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_splits")),
    )
    # Existing splits need no backfill: a name without a row is assigned from its weights, in
    # activation order, the first time the configuration is read.
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column(
            "traffic_percent",
            existing_type=sa.SmallInteger(),
            type_=sa.Numeric(precision=5, scale=2),
            existing_nullable=False,
        )


def downgrade():
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column(
            "traffic_percent",
            existing_type=sa.Numeric(precision=5, scale=2),
            type_=sa.SmallInteger(),
            existing_nullable=False,
            postgresql_using="round(traffic_percent)::smallint",
        )
    op.drop_table("splits")
