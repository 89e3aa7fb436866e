"""Rows kept beside the prediction log expire with it, after LOG_RETENTION_DAYS, by their own time.

The log's day partitions are dropped whole (`logpipe/partitions.py`); these tables are not partitioned, so
their expired rows are deleted, a chunk of `CHUNK_ROWS` at a time, each chunk in a transaction of
its own: a large backlog (the first run, or one after a long pause) never holds many row locks,
nor one long transaction, while feedback, failures and quarantines keep arriving. Each delete
uses an index on the time column (migration 0010).

- feedback waiting for its prediction log (orphaned) and feedback already counted: by `received_at`;
  what the stats counted stays in the totals, as with the log's own rows.
- prediction_errors: by `created_at`.
- quarantined_batches: by `quarantined_at` (a batch nobody re-ingested in that time is given up).
- shadow_pairs: by `shadow_created_at`, once their shadow rows' days are dropped: what the shadow
  comparison counted of those rows (its totals stay).

`maintain_logs` runs both for the beat task and `flask logs maintain`; it lives here, above the
domains whose tables it clears. `purge_quarantine` (`flask logs purge-quarantine`) deletes
quarantined batches sooner, on demand.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, select

from ..experiments.models import ShadowPair
from ..extensions import db
from ..failures.models import PredictionError
from ..feedback.models import Feedback
from ..logpipe.partitions import MaintenanceResult, day_start, maintain_partitions
from ..models import QuarantinedBatch, utcnow

log = logging.getLogger(__name__)

CHUNK_ROWS = 5000


def expire_rows(cutoff: datetime, chunk_rows: int = CHUNK_ROWS) -> dict[str, int]:
    """Delete every kind of row older than `cutoff`; returns how many rows of each kind went."""
    feedback, errors, quarantine = Feedback.__table__, PredictionError.__table__, QuarantinedBatch.__table__
    unmatched = feedback.c.counted_model_id.is_(None)
    expired = {
        # Orphans first, through their own small index; then the rest of the feedback.
        "orphaned_feedback": _expire(feedback, feedback.c.received_at, cutoff, chunk_rows, unmatched),
        "feedback": _expire(feedback, feedback.c.received_at, cutoff, chunk_rows),
        "prediction_errors": _expire(errors, errors.c.created_at, cutoff, chunk_rows),
        "quarantined_batches": _expire(quarantine, quarantine.c.quarantined_at, cutoff, chunk_rows),
    }
    if any(expired.values()):
        log.info("expired rows older than %s: %s", cutoff.isoformat(), expired)
    return expired


def _expire(table: Table, stamp: ColumnElement, cutoff: datetime, chunk_rows: int, *conditions: ColumnElement) -> int:
    [key] = table.primary_key.columns
    old = [stamp < cutoff, *conditions]
    deleted = 0
    while True:
        chunk = select(key).where(*old).limit(chunk_rows).scalar_subquery()
        # The time is checked again on the row itself: one updated meanwhile (a newer feedback) stays.
        count = db.session.execute(table.delete().where(key.in_(chunk), *old)).rowcount
        db.session.commit()
        deleted += count
        if count < chunk_rows:
            return deleted


def purge_quarantine(
    older_than: timedelta | None = None, kind: str | None = None, chunk_rows: int = CHUNK_ROWS
) -> dict[str, int]:
    """Delete quarantined batches (those quarantined before `older_than` ago, of `kind`, if given),
    a chunk at a time; returns how many batches went and how many log rows they held."""
    table = QuarantinedBatch.__table__
    conditions = []
    if older_than is not None:
        conditions.append(table.c.quarantined_at < utcnow() - older_than)
    if kind is not None:
        conditions.append(table.c.kind == kind)
    batches = rows = 0
    while True:
        chunk = select(table.c.id).where(*conditions).order_by(table.c.id).limit(chunk_rows).scalar_subquery()
        statement = table.delete().where(table.c.id.in_(chunk), *conditions).returning(table.c.row_count)
        counts = db.session.execute(statement).scalars().all()
        db.session.commit()
        batches, rows = batches + len(counts), rows + sum(counts)
        if len(counts) < chunk_rows:
            return {"batches": batches, "rows": rows}


def maintain_logs(ahead_days: int, retention_days: int, today: date | None = None) -> MaintenanceResult:
    """Make and drop the log's day partitions, then expire the rows kept beside it past the same day."""
    result = maintain_partitions(ahead_days, retention_days, today)
    cutoff = day_start(result.retained_from)
    result.forgotten_shadow_pairs = forget_shadow_pairs(cutoff)
    # After the partitions' transaction: these deletes commit chunk by chunk (and are safe twice at once).
    result.expired = expire_rows(cutoff)
    return result


def forget_shadow_pairs(cutoff: datetime) -> int:
    """Delete the shadow pairs whose shadow rows were logged before `cutoff`; returns how many went."""
    # A pair whose shadow row is gone is never a refresh's candidate again; the comparison's totals keep it.
    forgotten = db.session.execute(delete(ShadowPair).where(ShadowPair.shadow_created_at < cutoff)).rowcount
    db.session.commit()
    return forgotten
