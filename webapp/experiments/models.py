"""Tables of the experiments domain: feedback, outcome metrics, and allocation epochs.

Kept apart from `webapp/models.py` so the registry's tables and these can change independently.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Float, Index, Numeric, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class Feedback(db.Model):
    """The latest feedback on one prediction, and what the stats refresh last counted for it.

    A second feedback for the same prediction replaces the first. The `counted_*` columns are the
    contribution the refresh has folded into the outcome totals, so a replacement can take the old
    one back out. A row with no `counted_model_id` has not been matched with its prediction log
    yet. The row also has `txid xid8` (see the migration), set by every write, which lets the
    refresh read exactly the rows written since its last run. `revision` is no longer read (the
    refresh follows `txid`); it stays, NOT NULL and written as 0, until a later migration drops it
    once no running process still writes it.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        # Small by design: only feedback still waiting for its prediction log.
        Index(
            "ix_feedback_unmatched_received_at",
            "received_at",
            postgresql_where=text("counted_model_id IS NULL"),
        ),
        Index("ix_feedback_revision", "revision"),
    )

    prediction_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(8))
    reward: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # retention deletes by it
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_model_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    counted_label: Mapped[str | None] = mapped_column(String(8))
    counted_prediction: Mapped[str | None] = mapped_column(String(8))
    counted_reward: Mapped[float | None] = mapped_column(Float)


class OutcomeStats(db.Model):
    """Running outcome totals per version: sums and counts, so every average stays exact."""

    __tablename__ = "outcome_stats"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    feedback_count: Mapped[int] = mapped_column(BigInteger, default=0)
    labelled_count: Mapped[int] = mapped_column(BigInteger, default=0)
    correct_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[Decimal] = mapped_column(Numeric(28, 4), default=Decimal(0))
    reward_sum_squares: Mapped[Decimal] = mapped_column(Numeric(28, 8), default=Decimal(0))
    first_feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConfusionCell(db.Model):
    """How many labelled predictions of a version had this true label and this predicted one."""

    __tablename__ = "confusion_cells"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    true_label: Mapped[str] = mapped_column(String(8), primary_key=True)
    predicted_label: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AllocationCount(db.Model):
    """Routed predictions (sticky and random, not explicit) per version and routing-config version."""

    __tablename__ = "allocation_counts"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    config_version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sticky_count: Mapped[int] = mapped_column(BigInteger, default=0)
    random_count: Mapped[int] = mapped_column(BigInteger, default=0)


class AllocationUser(db.Model):
    """A user routed sticky to a version under a config version: users are the unit of the SRM test."""

    __tablename__ = "allocation_users"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    config_version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(256), primary_key=True)


class RoutingSplit(db.Model):
    """The traffic split of each model name under each routing-config version (active versions only)."""

    __tablename__ = "routing_splits"
    __table_args__ = (Index("ix_routing_splits_model_name_config_version", "model_name", "config_version"),)

    config_version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64))
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # weights carry up to two decimals
