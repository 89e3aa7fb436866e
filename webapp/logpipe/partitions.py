"""Day partitions of the prediction log: made ahead of time, dropped when past retention.

`maintain_partitions` makes and drops them; `webapp/system/retention.py` runs it with the expiry of
the rows kept beside the log (feedback, failures, quarantined batches) for the beat task and
`flask logs maintain`.
`prediction_logs` is partitioned by UTC day of `created_at` (see migration 0005_partitioned_logs):
rows whose day has no partition land in `prediction_logs_default`. Expired days go by dropping their
partition, never by DELETE, which would leave 170 M dead rows a day for vacuum.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text

from ..extensions import db
from ..models import PredictionLogBatch

# Arbitrary but fixed: serializes maintenance runs (beat, CLI).
MAINTENANCE_LOCK_KEY = 7_301_150_882
PARENT = "prediction_logs"
DEFAULT_PARTITION = "prediction_logs_default"
_DAY_NAME = re.compile(r"^prediction_logs_p(\d{8})$")
# /health counts the default partition's rows up to here: enough to alarm, bounded in cost.
DEFAULT_ROWS_COUNT_LIMIT = 100_000


@dataclass(frozen=True)
class Partition:
    name: str
    day: date | None  # None for the default partition
    rows_estimate: int | None  # Postgres' planner estimate; None before the first ANALYZE


@dataclass
class MaintenanceResult:
    created: list[str] = field(default_factory=list)
    moved_from_default: int = 0
    dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0
    forgotten_batches: int = 0  # ledger entries past retention: their rows are gone too
    forgotten_shadow_pairs: int = 0  # what the shadow comparison counted of those rows (system/retention.py)
    expired: dict[str, int] = field(
        default_factory=dict
    )  # rows of the other kinds past retention (system/retention.py)
    retained_from: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "retained_from": self.retained_from and self.retained_from.isoformat()}


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def maintain_partitions(ahead_days: int, retention_days: int, today: date | None = None) -> MaintenanceResult:
    """Make partitions for yesterday through `ahead_days` ahead and expire days older than `retention_days`.

    Safe to run at any time and twice at once: runs queue on an advisory lock, and each step only
    does what is still missing.
    """
    today = today or datetime.now(UTC).date()
    result = MaintenanceResult(retained_from=today - timedelta(days=retention_days))
    try:
        db.session.execute(select(func.pg_advisory_xact_lock(MAINTENANCE_LOCK_KEY)))
        _create_ahead(today, ahead_days, result)
        _expire_partitions(result)
        cutoff = day_start(result.retained_from)
        forgotten = delete(PredictionLogBatch).where(PredictionLogBatch.stored_at < cutoff)
        result.forgotten_batches = db.session.execute(forgotten).rowcount
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def list_partitions() -> list[Partition]:
    """The log's partitions, days oldest first, then the default one."""
    query = text(
        "SELECT c.relname, c.reltuples FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass)"
    ).bindparams(parent=PARENT)
    partitions = [
        Partition(name, _day_of(name), int(tuples) if tuples >= 0 else None)
        for name, tuples in db.session.execute(query)
    ]
    return sorted(partitions, key=lambda partition: (partition.day is None, partition.day or date.min))


def partition_health() -> dict[str, Any]:
    """What ops watch: how many day partitions, which days they span, rows that fell into the default."""
    days = [partition.day for partition in list_partitions() if partition.day is not None]
    capped = text(f"SELECT count(*) FROM (SELECT 1 FROM {DEFAULT_PARTITION} LIMIT :limit) AS rows")
    default_rows = db.session.execute(capped.bindparams(limit=DEFAULT_ROWS_COUNT_LIMIT)).scalar_one()
    db.session.rollback()
    return {
        "partitioned": True,
        "day_partitions": len(days),
        "oldest_day": days[0].isoformat() if days else None,
        "newest_day": days[-1].isoformat() if days else None,
        "default_partition_rows": default_rows,
        "default_partition_rows_capped": default_rows >= DEFAULT_ROWS_COUNT_LIMIT,
    }


def _day_of(name: str) -> date | None:
    match = _DAY_NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def _create_ahead(today: date, ahead_days: int, result: MaintenanceResult) -> None:
    existing = {partition.day for partition in list_partitions()}
    for offset in range(-1, ahead_days + 1):
        day = today + timedelta(days=offset)
        if day >= result.retained_from and day not in existing:
            result.moved_from_default += _create_day_partition(day)
            result.created.append(partition_name(day))


def _create_day_partition(day: date) -> int:
    """Create one day's partition; rows of that day waiting in the default partition move into it.

    Postgres refuses a new partition whose range has rows in the default partition, so those rows
    go into a plain table first (ids and txids unchanged), which is then attached. Returns how many moved.
    """
    name = partition_name(day)
    start, end = day_start(day).isoformat(), day_start(day + timedelta(days=1)).isoformat()
    bounds = f"FROM ('{start}') TO ('{end}')"
    in_range = f"created_at >= '{start}' AND created_at < '{end}'"
    waiting = db.session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE {in_range})"))
    if not waiting.scalar_one():
        db.session.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES {bounds}"))
        return 0
    db.session.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    move = f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {in_range} RETURNING *) INSERT INTO {name} "
    move += "SELECT * FROM moved"
    moved = db.session.execute(text(move)).rowcount
    db.session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES {bounds}"))
    return moved


def _expire_partitions(result: MaintenanceResult) -> None:
    for partition in list_partitions():
        if partition.day is not None and partition.day < result.retained_from:
            db.session.execute(text(f"DROP TABLE {partition.name}"))
            result.dropped.append(partition.name)
    expired = text(f"DELETE FROM {DEFAULT_PARTITION} WHERE created_at < :cutoff")
    result.deleted_rows = db.session.execute(expired.bindparams(cutoff=day_start(result.retained_from))).rowcount
