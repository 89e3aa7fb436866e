"""Rollout webhooks: where a rollout's transitions are POSTed (with the secret they are signed with),
and the outbox of deliveries, each written in the transaction of the transition it reports.

Revision ID: 0014_rollout_webhooks
Revises: 0013_calibration_bins
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_rollout_webhooks"
down_revision = "0013_calibration_bins"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rollout_webhooks",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("rollout_id", sa.BigInteger(), sa.ForeignKey("rollouts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
    )
    op.create_index("ix_rollout_webhooks_rollout_id", "rollout_webhooks", ["rollout_id"])
    op.create_table(
        "rollout_webhook_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "webhook_id", sa.BigInteger(), sa.ForeignKey("rollout_webhooks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rollout_webhook_deliveries_webhook_id", "rollout_webhook_deliveries", ["webhook_id"])
    op.create_index(
        "ix_rollout_webhook_deliveries_pending",
        "rollout_webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_table("rollout_webhook_deliveries")
    op.drop_table("rollout_webhooks")
