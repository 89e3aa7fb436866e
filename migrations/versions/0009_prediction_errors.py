"""Prediction errors: each /predict that failed after routing, attributed to its version.

Revision ID: 0007_prediction_errors
Revises: 0006_shadow_comparisons
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_prediction_errors"
down_revision = "0006_shadow_comparisons"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "prediction_errors",
        sa.Column("error_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("routing", sa.String(length=8), nullable=False),
        sa.Column("config_version", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("error_class", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("error_id", name=op.f("pk_prediction_errors")),
    )
    op.create_index("ix_prediction_errors_model_id_config_version", "prediction_errors", ["model_id", "config_version"])


def downgrade():
    op.drop_index("ix_prediction_errors_model_id_config_version", table_name="prediction_errors")
    op.drop_table("prediction_errors")
