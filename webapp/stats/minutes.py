"""Requests per minute per version: folded by the stats refresh, read for the last hour.

The refresh groups its new-rows window by (version, minute) and adds the counts to
`prediction_minutes`, so the series costs what the new rows cost, like every other statistic.
Rows older than `RETENTION` are dropped at each refresh: the series serves the dashboard's
recent past, and `/models/stats` keeps the all-time totals.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..models import ModelVersion, PredictionLog, PredictionMinute

RETENTION = timedelta(days=7)


def fold_minutes(window: ColumnElement[bool]) -> int:
    """Add the log rows in `window` to the per-minute counts; answer how many cells changed."""
    minute = _epoch_minute()
    counts = db.session.execute(
        select(PredictionLog.model_id, minute.label("minute"), func.count())
        .where(window)
        .group_by(PredictionLog.model_id, minute)
    ).all()
    if counts:
        rows = [{"model_id": m, "minute": _as_datetime(n), "count": int(c)} for m, n, c in counts]
        statement = insert(PredictionMinute.__table__)
        table = PredictionMinute.__table__
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.model_id, table.c.minute],
                set_={"count": table.c.count + statement.excluded.count},
            ),
            rows,
        )
    db.session.execute(PredictionMinute.__table__.delete().where(PredictionMinute.minute < _now_minute() - RETENTION))
    return len(counts)


def minute_series(model_name: str | None, minutes: int, until: datetime | None = None) -> dict:
    """Counts per version for each of the last `minutes` minutes (the current one included), zeros filled."""
    end = until or _now_minute()
    start = end - timedelta(minutes=minutes - 1)
    query = (
        select(ModelVersion, PredictionMinute.minute, PredictionMinute.count)
        .join(PredictionMinute, PredictionMinute.model_id == ModelVersion.id)
        .where(PredictionMinute.minute >= start, PredictionMinute.minute <= end)
        .order_by(ModelVersion.name, ModelVersion.created_at, PredictionMinute.minute)
    )
    if model_name is not None:
        query = query.where(ModelVersion.name == model_name)
    axis = [start + timedelta(minutes=i) for i in range(minutes)]
    series: dict[uuid.UUID, dict] = {}
    for version, minute, count in db.session.execute(query):
        entry = series.setdefault(version.id, _empty_series(version, minutes))
        entry["counts"][axis.index(minute)] = count
    return {"model": model_name, "minutes": axis, "series": list(series.values())}


def _empty_series(version: ModelVersion, minutes: int) -> dict:
    return {
        "model_id": str(version.id),
        "model_name": version.name,
        "model_version": version.version,
        "counts": [0] * minutes,
    }


def _epoch_minute() -> ColumnElement[int]:
    # date_part gives a float; extract() gives a numeric, several times slower per row
    return cast(func.floor(func.date_part("epoch", PredictionLog.created_at) / 60), BigInteger)


def _as_datetime(epoch_minute: int) -> datetime:
    return datetime.fromtimestamp(int(epoch_minute) * 60, UTC)


def _now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)
