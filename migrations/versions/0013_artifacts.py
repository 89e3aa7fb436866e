"""Model artifacts: content-addressed files in chunks, a version's artifact, and its offline metrics.

An artifact is keyed by the sha256 of its bytes and stored as 1 MiB `bytea` chunks, so that every
web host and worker can read it from the one database and no query holds a whole file. A version
points at its artifact (at most one, never replaced) and carries the metrics measured before it
served.

Revision ID: 0011_artifacts
Revises: 0010_retention_time_indexes
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_artifacts"
down_revision = "0010_retention_time_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "artifacts",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("load_seconds", sa.Float(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("probe_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="ck_artifacts_sha256_hex"),
    )
    op.create_table(
        "artifact_chunks",
        sa.Column("sha256", sa.String(64), sa.ForeignKey("artifacts.sha256", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    # The chunks are already compressed (a skops file is a zip): storing them as they are saves
    # TOAST a compression attempt per chunk.
    op.execute("ALTER TABLE artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.add_column(
        "model_versions",
        sa.Column("artifact_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=True),
    )
    op.add_column(
        "model_versions", sa.Column("metrics", sa.JSON(), nullable=False, server_default=sa.text("'{}'::json"))
    )


def downgrade():
    op.drop_column("model_versions", "metrics")
    op.drop_column("model_versions", "artifact_sha256")
    op.drop_table("artifact_chunks")
    op.drop_table("artifacts")
