"""Reads of the materialized statistics, and the stored failures. Never touches the prediction log."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select

from ..extensions import db
from ..failures.queries import error_counts
from ..models import ModelStats, ModelVersion, StatsCursor
from .schemas import StatsEntry

LABELS = ("positive", "negative", "neutral")
ROUTINGS = ("sticky", "random", "explicit", "shadow")


def stats_entries(model_name: str | None = None) -> list[StatsEntry]:
    """One entry per version: every registered version, plus archived ones that served traffic."""
    cursor = db.session.get(StatsCursor, 1)
    refreshed_at = cursor.refreshed_at if cursor else None
    query = (
        select(ModelVersion, ModelStats)
        .outerjoin(ModelStats, ModelStats.model_id == ModelVersion.id)
        .where(or_(ModelVersion.status != "archived", ModelStats.request_count > 0))
        .order_by(ModelVersion.name, ModelVersion.created_at, ModelVersion.id)
    )
    if model_name is not None:
        query = query.where(ModelVersion.name == model_name)
    rows = db.session.execute(query).all()
    errors = error_counts([version.id for version, _ in rows])
    return [_entry(version, stats, refreshed_at, errors.get(version.id, 0)) for version, stats in rows]


def _average(total: Decimal | None, count: int) -> float | None:
    return round(float(Decimal(total) / count), 4) if count and total is not None else None


def _entry(version: ModelVersion, stats: ModelStats | None, refreshed_at, errors: int) -> StatsEntry:
    count = stats.request_count if stats else 0
    return StatsEntry(
        model_id=str(version.id),
        model_name=version.name,
        model_version=version.version,
        status=version.status,
        traffic_percent=version.traffic_percent,
        request_count=count,
        avg_latency=_average(stats.latency_sum, count) if stats else None,
        avg_confidence=_average(stats.confidence_sum, count) if stats else None,
        p50_latency=stats.p50_latency if stats else None,
        p95_latency=stats.p95_latency if stats else None,
        p99_latency=stats.p99_latency if stats else None,
        prediction_counts={label: getattr(stats, f"{label}_count", 0) if stats else 0 for label in LABELS},
        routing_counts={routing: getattr(stats, f"{routing}_count", 0) if stats else 0 for routing in ROUTINGS},
        error_count=errors,
        first_prediction_at=stats.first_prediction_at if stats else None,
        last_prediction_at=stats.last_prediction_at if stats else None,
        refreshed_at=refreshed_at,
    )
