"""Rollouts: canary plans and their history.

Revision ID: 0003_rollouts
Revises: 0002_experiments
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_rollouts"
down_revision = "0003_dashboard"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
ACTIVE_ROLLOUT = "state IN ('running', 'paused')"


def upgrade():
    op.create_table(
        "rollouts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("baseline_id", sa.Uuid(), nullable=False),
        sa.Column("pool", sa.Float(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("step_seconds", sa.Float(), nullable=False),
        sa.Column("min_requests_per_step", sa.Integer(), nullable=False),
        sa.Column("guardrails", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_started_at", Timestamp, nullable=False),
        sa.Column("step_config_version", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollouts")),
    )
    op.create_index(op.f("ix_rollouts_model_name"), "rollouts", ["model_name"], unique=False)
    op.create_index(
        "uq_rollouts_active_model_name",
        "rollouts",
        ["model_name"],
        unique=True,
        postgresql_where=sa.text(ACTIVE_ROLLOUT),
    )
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.BigInteger(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("candidate_percent", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_rollout_events_rollout_id_rollouts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_events")),
    )
    op.create_index(op.f("ix_rollout_events_rollout_id"), "rollout_events", ["rollout_id"], unique=False)
    op.create_table(
        "bandits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("version_ids", sa.JSON(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("update_seconds", sa.Float(), nullable=False),
        sa.Column("min_per_arm", sa.Integer(), nullable=False),
        sa.Column("floor_percent", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bandits")),
    )
    op.create_index(op.f("ix_bandits_model_name"), "bandits", ["model_name"], unique=False)
    op.create_index(
        "uq_bandits_running_model_name",
        "bandits",
        ["model_name"],
        unique=True,
        postgresql_where=sa.text("state = 'running'"),
    )


def downgrade():
    op.drop_index("uq_bandits_running_model_name", table_name="bandits")
    op.drop_index(op.f("ix_bandits_model_name"), table_name="bandits")
    op.drop_table("bandits")
    op.drop_index(op.f("ix_rollout_events_rollout_id"), table_name="rollout_events")
    op.drop_table("rollout_events")
    op.drop_index("uq_rollouts_active_model_name", table_name="rollouts")
    op.drop_index(op.f("ix_rollouts_model_name"), table_name="rollouts")
    op.drop_table("rollouts")
