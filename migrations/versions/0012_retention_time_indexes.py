"""Index the time columns retention deletes by: feedback, prediction_errors and quarantined_batches.

Rows of these tables expire after LOG_RETENTION_DAYS like the log's (webapp/logpipe/retention.py),
deleted a chunk at a time by `received_at`, `created_at` and `quarantined_at`; without an index each
chunk would scan its whole table. The indexes are built CONCURRENTLY: feedback and failures keep
being written while they build.

Revision ID: 0010_retention_time_indexes
Revises: 0009_shadow_pairs_retention
Create Date: 2026-11-25
"""

from alembic import op

revision = "0010_retention_time_indexes"
down_revision = "0009_shadow_pairs_retention"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_feedback_received_at", "feedback", "received_at"),
    ("ix_prediction_errors_created_at", "prediction_errors", "created_at"),
    ("ix_quarantined_batches_quarantined_at", "quarantined_batches", "quarantined_at"),
)


def upgrade():
    with op.get_context().autocommit_block():
        for name, table, column in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an invalid one left by a failed build
            op.create_index(name, table, [column], postgresql_concurrently=True)


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
