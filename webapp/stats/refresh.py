"""Materializes per-version statistics from the prediction log, incrementally.

Each refresh reads only the log rows committed since the previous one, adds them to running totals
and latency histograms, and moves a cursor, all in one transaction: a refresh killed halfway
changes nothing, and concurrent refreshes are serialized by an advisory lock.

Which rows are new:
- Postgres: every row carries the id of the transaction that inserted it (`txid`). All
  transactions older than the current snapshot's xmin have finished, so the window
  [previous xmin, current xmin) holds exactly the rows committed in between, however late a
  batch commits relative to its neighbours. Cost grows with new rows, through the txid index.
- SQLite: one writer at a time, so row ids become visible in order; the last id read is enough.

The same transaction folds feedback into outcome totals and routed traffic into allocation counts
(`webapp/experiments/outcomes.py`, `allocations.py`), with the same kind of window for feedback,
shadow predictions into their comparison with the served version (`shadow_fold.py`), and every
new row into the per-minute series (`minutes.py`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, case, cast, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from ..experiments.allocations import fold_allocations
from ..experiments.outcomes import fold_outcomes
from ..experiments.shadow_fold import fold_shadow_pairs
from ..experiments.shadow_tables import ShadowComparison, ShadowPair
from ..experiments.tables import AllocationCount, AllocationUser, ConfusionCell, Feedback, OutcomeStats
from ..extensions import db
from ..models import LatencyHistogram, ModelStats, PredictionLog, PredictionMinute, StatsCursor, utcnow
from .histogram import percentiles
from .minutes import fold_minutes

# Arbitrary but fixed: the key of the advisory lock that serializes refreshes on Postgres.
REFRESH_LOCK_KEY = 7_301_150_881
LABELS = ("positive", "negative", "neutral")
ROUTINGS = ("sticky", "random", "explicit", "shadow")


@dataclass(frozen=True)
class RefreshResult:
    rows: int
    versions: int
    position: int
    duration_ms: float
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def refresh_stats() -> RefreshResult:
    """Fold the log rows committed since the last refresh into model_stats."""
    started = time.perf_counter()
    session = db.session
    try:
        if not _acquire_lock():
            session.rollback()
            return RefreshResult(0, 0, 0, _ms_since(started), skipped=True)
        cursor = session.get(StatsCursor, 1, with_for_update=True)
        window, position = _new_rows_window(cursor.position)
        totals = _aggregate(window)
        histograms = _histograms(window)
        for model_id, row in totals.items():
            _merge_totals(model_id, row)
        _merge_histograms(histograms, list(totals))
        fold_allocations(window)
        fold_minutes(window)
        feedback_from = cursor.feedback_position
        cursor.feedback_position, _ = fold_outcomes((cursor.position, position), feedback_from)
        fold_shadow_pairs((cursor.position, position), (feedback_from, cursor.feedback_position))
        rows = sum(row["request_count"] for row in totals.values())
        cursor.position, cursor.refreshed_at, cursor.rows_last_refresh = position, utcnow(), rows
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return RefreshResult(rows, len(totals), position, _ms_since(started))


def rebuild_stats() -> RefreshResult:
    """Forget the materialized statistics and recompute them from every log row (ops, tests)."""
    tables = (
        LatencyHistogram,
        ModelStats,
        OutcomeStats,
        ConfusionCell,
        AllocationCount,
        AllocationUser,
        PredictionMinute,
        ShadowPair,
        ShadowComparison,
    )
    for table in tables:
        db.session.execute(table.__table__.delete())
    db.session.execute(
        Feedback.__table__.update().values(
            counted_model_id=None, counted_label=None, counted_prediction=None, counted_reward=None
        )
    )
    db.session.execute(
        StatsCursor.__table__.update().values(position=0, feedback_position=0, refreshed_at=None, rows_last_refresh=0)
    )
    db.session.commit()
    return refresh_stats()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _acquire_lock() -> bool:
    if _is_postgres():
        return db.session.execute(select(func.pg_try_advisory_xact_lock(REFRESH_LOCK_KEY))).scalar_one()
    # SQLite: a write as the first statement takes the database's write lock for the whole
    # transaction, so the cursor read below cannot race another refresh.
    db.session.execute(StatsCursor.__table__.update().where(StatsCursor.id == 1).values(id=1))
    return True


def _new_rows_window(position: int) -> tuple[ColumnElement[bool], int]:
    """A filter selecting the rows committed since `position`, and the position to store next."""
    if _is_postgres():
        horizon = db.session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
        window = text("txid >= CAST(:low AS text)::xid8 AND txid < CAST(:high AS text)::xid8").bindparams(
            low=str(position), high=str(horizon)
        )
        return window, horizon
    last_id = db.session.execute(select(func.max(PredictionLog.id))).scalar() or 0
    return (PredictionLog.id > position) & (PredictionLog.id <= last_id), max(last_id, position)


def _aggregate(window: ColumnElement[bool]) -> dict[uuid.UUID, dict[str, Any]]:
    exact = Numeric(28, 4)
    columns = [
        func.count().label("request_count"),
        func.sum(cast(PredictionLog.latency_ms, exact)).label("latency_sum"),
        func.sum(cast(PredictionLog.confidence, exact)).label("confidence_sum"),
        func.sum(cast(PredictionLog.latency_ms, exact) * cast(PredictionLog.latency_ms, exact)).label(
            "latency_sum_squares"
        ),
        func.min(PredictionLog.created_at).label("first_prediction_at"),
        func.max(PredictionLog.created_at).label("last_prediction_at"),
        *(_count_where(PredictionLog.prediction, label) for label in LABELS),
        *(_count_where(PredictionLog.routing, routing) for routing in ROUTINGS),
    ]
    query = select(PredictionLog.model_id, *columns).where(window).group_by(PredictionLog.model_id)
    return {row.model_id: row._asdict() for row in db.session.execute(query)}


def _count_where(column: Any, value: str) -> Any:
    return func.sum(case((column == value, 1), else_=0)).label(f"{value}_count")


def _histograms(window: ColumnElement[bool]) -> list[tuple[uuid.UUID, int, int]]:
    query = (
        select(PredictionLog.model_id, PredictionLog.latency_bucket, func.count())
        .where(window)
        .group_by(PredictionLog.model_id, PredictionLog.latency_bucket)
    )
    return [tuple(row) for row in db.session.execute(query)]


def _merge_totals(model_id: uuid.UUID, new: dict[str, Any]) -> None:
    stats = db.session.get(ModelStats, model_id) or ModelStats(
        model_id=model_id,
        request_count=0,
        latency_sum=Decimal(0),
        confidence_sum=Decimal(0),
        latency_sum_squares=Decimal(0),
        **{f"{name}_count": 0 for name in LABELS + ROUTINGS},
    )
    stats.request_count += new["request_count"]
    stats.latency_sum = Decimal(stats.latency_sum) + Decimal(new["latency_sum"])
    stats.confidence_sum = Decimal(stats.confidence_sum) + Decimal(new["confidence_sum"])
    stats.latency_sum_squares = Decimal(stats.latency_sum_squares) + Decimal(new["latency_sum_squares"])
    for name in LABELS + ROUTINGS:
        setattr(stats, f"{name}_count", getattr(stats, f"{name}_count") + int(new[f"{name}_count"]))
    stats.first_prediction_at = min(filter(None, (stats.first_prediction_at, new["first_prediction_at"])))
    stats.last_prediction_at = max(filter(None, (stats.last_prediction_at, new["last_prediction_at"])))
    stats.updated_at = utcnow()
    db.session.add(stats)


def _merge_histograms(new_counts: list[tuple[uuid.UUID, int, int]], model_ids: list[uuid.UUID]) -> None:
    """Add the new bucket counts and re-read the percentiles of the versions that changed."""
    if not model_ids:
        return
    cells = {
        (cell.model_id, cell.bucket): cell
        for cell in db.session.scalars(select(LatencyHistogram).where(LatencyHistogram.model_id.in_(model_ids)))
    }
    for model_id, bucket, count in new_counts:
        cell = cells.get((model_id, bucket))
        if cell is None:
            cells[(model_id, bucket)] = cell = LatencyHistogram(model_id=model_id, bucket=bucket, count=0)
            db.session.add(cell)
        cell.count += count
    for model_id in model_ids:
        counts = [(bucket, cell.count) for (owner, bucket), cell in cells.items() if owner == model_id]
        stats = db.session.get(ModelStats, model_id)
        stats.p50_latency, stats.p95_latency, stats.p99_latency = percentiles(counts, (0.50, 0.95, 0.99))
