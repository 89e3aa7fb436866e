"""Slots: per-name slot assignments, fractional weights, the audit log, shadow traffic.

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
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_model_name_id", "audit_log", ["model_name", "id"])
    # Existing splits need no backfill: a name without a row is assigned from its weights, in
    # activation order, the first time the configuration is read.
    op.alter_column(
        "model_versions",
        "traffic_percent",
        existing_type=sa.SmallInteger(),
        type_=sa.Numeric(precision=5, scale=2),
        existing_nullable=False,
    )
    op.add_column(
        "model_versions",
        sa.Column("shadow_percent", sa.Numeric(precision=5, scale=2), nullable=False, server_default="0"),
    )
    op.add_column("prediction_logs", sa.Column("slot", sa.SmallInteger(), nullable=True))
    op.add_column("prediction_logs", sa.Column("shadow_of", sa.Uuid(), nullable=True))
    op.add_column("model_stats", sa.Column("shadow_count", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("model_stats", "shadow_count")
    op.drop_column("prediction_logs", "shadow_of")
    op.drop_column("prediction_logs", "slot")
    op.drop_column("model_versions", "shadow_percent")
    op.alter_column(
        "model_versions",
        "traffic_percent",
        existing_type=sa.Numeric(precision=5, scale=2),
        type_=sa.SmallInteger(),
        existing_nullable=False,
        postgresql_using="round(traffic_percent)::smallint",
    )
    op.drop_index("ix_audit_log_model_name_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("splits")
