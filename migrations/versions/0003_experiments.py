"""Experiments: feedback, outcome metrics, allocation epochs.

Revision ID: 0002_experiments
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_experiments"
down_revision = "0002_slots"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.add_column("prediction_logs", sa.Column("config_version", sa.BigInteger(), nullable=True))
    op.add_column(
        "model_stats",
        sa.Column("latency_sum_squares", sa.Numeric(precision=38, scale=8), server_default="0", nullable=False),
    )
    op.add_column("stats_cursor", sa.Column("feedback_position", sa.BigInteger(), server_default="0", nullable=False))

    op.create_table(
        "feedback",
        sa.Column("prediction_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=8), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("counted_model_id", sa.Uuid(), nullable=True),
        sa.Column("counted_label", sa.String(length=8), nullable=True),
        sa.Column("counted_prediction", sa.String(length=8), nullable=True),
        sa.Column("counted_reward", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_feedback")),
    )
    op.create_index(
        "ix_feedback_unmatched_received_at",
        "feedback",
        ["received_at"],
        postgresql_where=sa.text("counted_model_id IS NULL"),
    )
    op.create_index("ix_feedback_revision", "feedback", ["revision"])
    # Set on insert here and on every replacement by the ingest (see webapp/feedback/ingest.py).
    op.execute("ALTER TABLE feedback ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_feedback_txid ON feedback (txid)")

    op.create_table(
        "outcome_stats",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("feedback_count", sa.BigInteger(), nullable=False),
        sa.Column("labelled_count", sa.BigInteger(), nullable=False),
        sa.Column("correct_count", sa.BigInteger(), nullable=False),
        sa.Column("reward_count", sa.BigInteger(), nullable=False),
        sa.Column("reward_sum", sa.Numeric(precision=28, scale=4), nullable=False),
        sa.Column("reward_sum_squares", sa.Numeric(precision=28, scale=8), nullable=False),
        sa.Column("first_feedback_at", Timestamp, nullable=True),
        sa.Column("last_feedback_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_outcome_stats")),
    )
    op.create_table(
        "confusion_cells",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("true_label", sa.String(length=8), nullable=False),
        sa.Column("predicted_label", sa.String(length=8), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "true_label", "predicted_label", name=op.f("pk_confusion_cells")),
    )
    op.create_table(
        "allocation_counts",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("config_version", sa.BigInteger(), nullable=False),
        sa.Column("sticky_count", sa.BigInteger(), nullable=False),
        sa.Column("random_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "config_version", name=op.f("pk_allocation_counts")),
    )
    op.create_table(
        "allocation_users",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("config_version", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "config_version", "user_id", name=op.f("pk_allocation_users")),
    )
    op.create_table(
        "routing_splits",
        sa.Column("config_version", sa.BigInteger(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("config_version", "model_id", name=op.f("pk_routing_splits")),
    )
    op.create_index("ix_routing_splits_model_name_config_version", "routing_splits", ["model_name", "config_version"])
    # The split in force now, so the current epoch starts at once rather than at the next registry change.
    op.execute(
        "INSERT INTO routing_splits (config_version, model_id, model_name, percent) "
        "SELECT rs.version, mv.id, mv.name, CASE WHEN mv.status = 'active' THEN mv.traffic_percent ELSE 0 END "
        "FROM model_versions mv CROSS JOIN routing_state rs WHERE rs.id = 1 AND mv.status <> 'archived'"
    )


def downgrade():
    op.drop_index("ix_routing_splits_model_name_config_version", table_name="routing_splits")
    for table in ("routing_splits", "allocation_users", "allocation_counts", "confusion_cells", "outcome_stats"):
        op.drop_table(table)
    op.drop_index("ix_feedback_revision", table_name="feedback")
    op.drop_index("ix_feedback_unmatched_received_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_column("stats_cursor", "feedback_position")
    op.drop_column("model_stats", "latency_sum_squares")
    op.drop_column("prediction_logs", "config_version")
