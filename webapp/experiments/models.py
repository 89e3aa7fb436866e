"""Tables of the experiments domain: outcome metrics, allocation epochs and the shadow comparison."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Index, Numeric, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


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


class ShadowPair(db.Model):
    """A shadow prediction matched with the served one it mirrored, as last counted into the totals.

    Keyed on the shadow's prediction_id, so a log row stored twice still counts once. A row exists
    only once the served prediction's log is stored; `true_label` is its latest labelled feedback.
    `shadow_created_at` is the shadow's log time: log retention forgets the pair with its day (the
    totals keep it), since a pair whose shadow row is gone is never a refresh's candidate again.
    """

    __tablename__ = "shadow_pairs"

    shadow_prediction_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    shadow_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    shadow_model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    served_model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    shadow_label: Mapped[str] = mapped_column(String(8))
    served_label: Mapped[str] = mapped_column(String(8))
    true_label: Mapped[str | None] = mapped_column(String(8))


class ShadowComparison(db.Model):
    """Running totals of one shadow version against one served version, over the requests both answered.

    Counts only, so agreement, both accuracies and McNemar's discordant pairs stay exact.
    """

    __tablename__ = "shadow_comparisons"

    shadow_model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    served_model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    pairs: Mapped[int] = mapped_column(BigInteger, default=0)
    agreements: Mapped[int] = mapped_column(BigInteger, default=0)
    labelled_pairs: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    served_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_only_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    served_only_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalibrationBin(db.Model):
    """Labelled predictions of a version whose confidence fell in one bin: how many, how many right,
    and their confidences' sum (webapp/statistics/calibration.py)."""

    __tablename__ = "calibration_bins"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    bin: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    labelled: Mapped[int] = mapped_column(BigInteger, default=0)
    correct: Mapped[int] = mapped_column(BigInteger, default=0)
    confidence_sum: Mapped[Decimal] = mapped_column(Numeric(24, 4), default=Decimal(0))
