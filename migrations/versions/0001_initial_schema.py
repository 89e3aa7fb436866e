"""Initial schema: registry, routing state, prediction log, materialized statistics.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("traffic_percent", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("activated_at", Timestamp, nullable=True),
        sa.Column("archived_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    )
    op.create_index(op.f("ix_model_versions_name"), "model_versions", ["name"])
    op.create_index(op.f("ix_model_versions_status"), "model_versions", ["status"])

    op.create_table(
        "routing_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_state")),
    )
    op.execute(sa.text("INSERT INTO routing_state (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)"))

    op.create_table(
        "prediction_logs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("prediction_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("prediction", sa.String(length=8), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("polarity", sa.Float(), nullable=False),
        sa.Column("subjectivity", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("latency_bucket", sa.SmallInteger(), nullable=False),
        sa.Column("routing", sa.String(length=8), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_logs")),
        sa.UniqueConstraint("prediction_id", name=op.f("uq_prediction_logs_prediction_id")),
    )
    op.create_index("ix_prediction_logs_model_id_created_at", "prediction_logs", ["model_id", "created_at"])
    # The inserting transaction's id: the stats refresh reads exactly the rows committed since its
    # last run (see webapp/stats/refresh.py).
    op.execute("ALTER TABLE prediction_logs ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_prediction_logs_txid ON prediction_logs (txid)")

    op.create_table(
        "model_stats",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("request_count", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum", sa.Numeric(precision=28, scale=4), nullable=False),
        sa.Column("confidence_sum", sa.Numeric(precision=28, scale=4), nullable=False),
        *(
            sa.Column(f"{name}_count", sa.BigInteger(), nullable=False)
            for name in ("positive", "negative", "neutral", "sticky", "random", "explicit")
        ),
        sa.Column("first_prediction_at", Timestamp, nullable=True),
        sa.Column("last_prediction_at", Timestamp, nullable=True),
        sa.Column("p50_latency", sa.Float(), nullable=True),
        sa.Column("p95_latency", sa.Float(), nullable=True),
        sa.Column("p99_latency", sa.Float(), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_model_stats")),
    )
    op.create_table(
        "latency_histogram",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "bucket", name=op.f("pk_latency_histogram")),
    )
    op.create_table(
        "stats_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_at", Timestamp, nullable=True),
        sa.Column("rows_last_refresh", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_cursor")),
    )
    op.execute(sa.text("INSERT INTO stats_cursor (id, position, rows_last_refresh) VALUES (1, 0, 0)"))


def downgrade():
    for table in ("stats_cursor", "latency_histogram", "model_stats", "prediction_logs", "routing_state"):
        op.drop_table(table)
    op.drop_index(op.f("ix_model_versions_status"), table_name="model_versions")
    op.drop_index(op.f("ix_model_versions_name"), table_name="model_versions")
    op.drop_table("model_versions")
