"""Rollout manual gates: which steps wait for approval, and whether the rollout waits now.

`gated_steps` holds the indices of the steps an operator must approve (`POST /rollouts/<id>/promote`)
before the rollout moves to them; `waiting_for` is "approval" while it holds at the step before one.

Revision ID: 0012_rollout_gates
Revises: 0011_artifacts
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_rollout_gates"
down_revision = "0011_artifacts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("rollouts", sa.Column("gated_steps", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("rollouts", sa.Column("waiting_for", sa.String(16), nullable=True))


def downgrade():
    op.drop_column("rollouts", "waiting_for")
    op.drop_column("rollouts", "gated_steps")
