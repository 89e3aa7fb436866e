"""Quarantined log batches: listed for ops, and re-ingested once whatever refused them is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import QuarantinedBatch
from .ingest import write_prediction_log_batch


@dataclass(frozen=True)
class Requeued:
    quarantine_id: int
    inserted: int
    duplicates: int


def quarantined_batches(limit: int = 100) -> list[dict[str, Any]]:
    """The oldest quarantined batches first: what waits, and why."""
    rows = db.session.scalars(select(QuarantinedBatch).order_by(QuarantinedBatch.id).limit(limit))
    return [
        {
            "id": row.id,
            "batch_id": row.batch_id and str(row.batch_id),
            "kind": row.kind,
            "rows": row.row_count,
            "reason": row.reason,
            "quarantined_at": row.quarantined_at.isoformat(),
        }
        for row in rows
    ]


def requeue(quarantine_id: int) -> Requeued:
    """Ingest a quarantined batch again; it leaves the quarantine only once its rows are stored."""
    entry = db.session.get(QuarantinedBatch, quarantine_id)
    if entry is None:
        raise NotFound(f"no quarantined batch {quarantine_id}")
    if entry.kind != "prediction_logs":  # feedback and failure rows wait for a person to read them
        raise Conflict(f"entry {quarantine_id} holds {entry.kind.replace('_', ' ')}; only prediction logs are requeued")
    payload = entry.payload
    db.session.rollback()  # the ingest writes in a transaction of its own
    result = write_prediction_log_batch(payload)
    if result.quarantined:
        raise Conflict(f"batch {quarantine_id} is still refused: {result.reason}")
    db.session.delete(db.session.get(QuarantinedBatch, quarantine_id))
    db.session.commit()
    return Requeued(quarantine_id, result.inserted, result.duplicates)
