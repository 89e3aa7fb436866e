"""Database tables shared by several domains: the registry, the prediction log and the materialized statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class ModelVersion(db.Model):
    """A registered version of a named model and its share of traffic."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    accuracy: Mapped[float | None] = mapped_column(Float)
    algorithm: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="inactive", index=True)
    traffic_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    shadow_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The trained model behind a `sklearn` version (webapp/artifacts/): set once, never replaced.
    artifact_sha256: Mapped[str | None] = mapped_column(String(64), ForeignKey("artifacts.sha256"))
    # Named by string so this module does not import the artifacts package (which imports this one).
    artifact = relationship("Artifact", lazy="joined")
    # Measured before the version served (`flask models train`, POST /models/<id>/metrics): name -> value.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=sql_text("'{}'::json"))


class RoutingState(db.Model):
    """One row: the routing-config version, bumped by every registry change.

    Its row lock also serializes registry changes, so the percent check cannot race.
    """

    __tablename__ = "routing_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Split(db.Model):
    """Which version owns each of a model name's 10,000 slots, as runs `[start, end, model_id]`.

    Rewritten with the fewest moves by every registry change that touches the name's weights.
    """

    __tablename__ = "splits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    runs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# What a valid log row is, as the batch schema in `webapp/logpipe/ingest.py` says it; Postgres
# enforces it, so a batch holding one bad row is refused whole. `length` is the one spelling
# both backends know; a NULL passes a CHECK, so the nullable columns need no IS NULL branch.
PREDICTION_LOG_CHECKS = {
    "prediction": "prediction IN ('positive', 'negative', 'neutral')",
    "routing": "routing IN ('sticky', 'random', 'explicit', 'shadow')",
    "confidence": "confidence BETWEEN 0 AND 1",
    "polarity": "polarity BETWEEN -1 AND 1",
    "subjectivity": "subjectivity BETWEEN 0 AND 1",
    "latency_ms": "latency_ms >= 0",
    "bucket": "bucket BETWEEN 0 AND 99",
    "slot": "slot BETWEEN 0 AND 9999",
    "text": "length(text) BETWEEN 1 AND 5000",
    "model_version": "length(model_version) BETWEEN 1 AND 64",
    "user_id": "length(user_id) BETWEEN 1 AND 256",
    "config_version": "config_version >= 0",
}
SHADOW_ROWS = "shadow_of IS NOT NULL"


class PredictionLog(db.Model):
    """One answered prediction. Append-only.

    The table is partitioned by UTC day of `created_at` (`prediction_logs_pYYYYMMDD`, plus
    `prediction_logs_default`; see `webapp/logpipe/partitions.py`), so its primary key has to
    include `created_at`, and `prediction_id` is indexed but cannot be unique. Rows also carry
    `txid xid8 DEFAULT pg_current_xact_id()` (see the migrations), which lets the stats refresh
    read exactly the rows committed since its last run.
    """

    __tablename__ = "prediction_logs"
    __table_args__ = (
        Index("ix_prediction_logs_prediction_id", "prediction_id"),
        Index(
            "ix_prediction_logs_shadow_of",
            "shadow_of",
            postgresql_where=sql_text(SHADOW_ROWS),
        ),
        *(CheckConstraint(rule, name=name) for name, rule in PREDICTION_LOG_CHECKS.items()),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    prediction_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    model_version: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    prediction: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    polarity: Mapped[float] = mapped_column(Float)
    subjectivity: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    latency_bucket: Mapped[int] = mapped_column(SmallInteger)
    routing: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    slot: Mapped[int | None] = mapped_column(SmallInteger)
    shadow_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the served prediction a shadow mirrored
    # The routing-config version that routed it: the allocation epochs of the SRM check.
    config_version: Mapped[int | None] = mapped_column(BigInteger)


class PredictionLogBatch(db.Model):
    """The ledger of stored log batches: a batch's rows and its entry commit together, so a
    redelivered batch finds its id here and is skipped whole, with no per-row uniqueness check."""

    __tablename__ = "prediction_log_batches"

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    row_count: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class QuarantinedBatch(db.Model):
    """A batch the database refused (a violated constraint, a malformed envelope), kept whole with
    the reason, so nothing the web process answered is dropped without a trace."""

    __tablename__ = "quarantined_batches"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer)
    payload: Mapped[Any] = mapped_column(JSON)
    quarantined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)  # retention


class ModelStats(db.Model):
    """Running totals per model version; averages are sums over counts, so they stay exact."""

    __tablename__ = "model_stats"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_count: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_sum: Mapped[Decimal] = mapped_column(Numeric(28, 4), default=Decimal(0))
    confidence_sum: Mapped[Decimal] = mapped_column(Numeric(28, 4), default=Decimal(0))
    # For Welch's test on latency: latencies have four decimals, so squares have eight, exactly.
    latency_sum_squares: Mapped[Decimal] = mapped_column(Numeric(38, 8), default=Decimal(0), server_default="0")
    positive_count: Mapped[int] = mapped_column(BigInteger, default=0)
    negative_count: Mapped[int] = mapped_column(BigInteger, default=0)
    neutral_count: Mapped[int] = mapped_column(BigInteger, default=0)
    sticky_count: Mapped[int] = mapped_column(BigInteger, default=0)
    random_count: Mapped[int] = mapped_column(BigInteger, default=0)
    explicit_count: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_prediction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_prediction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    p50_latency: Mapped[float | None] = mapped_column(Float)
    p95_latency: Mapped[float | None] = mapped_column(Float)
    p99_latency: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LatencyHistogram(db.Model):
    """Counts of predictions per log-spaced latency bucket, per version: mergeable percentiles."""

    __tablename__ = "latency_histogram"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StatsCursor(db.Model):
    """One row: how far the stats refresh has read the prediction log.

    `position` is a transaction-id horizon (see `webapp/stats/refresh.py`).
    """

    __tablename__ = "stats_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_last_refresh: Mapped[int] = mapped_column(BigInteger, default=0)
    # The same kind of horizon for the feedback table.
    feedback_position: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PredictionMinute(db.Model):
    """Predictions per version per minute (UTC), added to by each stats refresh: the dashboard's series."""

    __tablename__ = "prediction_minutes"
    __table_args__ = (Index("ix_prediction_minutes_minute", "minute"),)

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
