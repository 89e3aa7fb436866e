"""Writes batches of prediction logs to the database: exactly once, a refused row set aside alone.

A format-2 batch (`wire.py`) is stored in one transaction: its id goes into the ledger
(`prediction_log_batches`) and its rows are COPYed straight into `prediction_logs`. A redelivered
batch meets its own ledger entry and is skipped whole, so no row needs a uniqueness check.

When the database refuses the COPY for what a row holds (a value too long, text COPY cannot read),
the batch is stored again in a new transaction, row set by row set (`isolate.py`): every row the
database accepts is stored, and each one it refuses goes to `quarantined_batches` alone, with its
reason, as a one-row batch that `flask logs requeue` can ingest once the cause is fixed. An envelope
this worker cannot read at all is quarantined whole. Both are counted in /health.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from ..extensions import db
from ..models import QuarantinedBatch
from .batches import BatchRefused, check_envelope
from .isolate import REFUSED, Refusal, RowsMisread, quarantine_rows, row_key, store_isolating
from .pacing import SLICE_BYTES, CopyPacer
from .wire import LOG_BATCH_FORMAT, STORED_LOG_FIELDS, encode_log_batch, quoted

log = logging.getLogger(__name__)

_COLUMN_LIST = ", ".join(STORED_LOG_FIELDS)
_CLAIM = (
    "INSERT INTO prediction_log_batches (batch_id, row_count, stored_at) VALUES (%s, %s, now()) "
    "ON CONFLICT (batch_id) DO NOTHING"
)
_COPY = f"COPY prediction_logs ({_COLUMN_LIST}) FROM STDIN WITH (FORMAT csv)"
_RELEASE = "DELETE FROM prediction_log_batches WHERE batch_id = %s"
FORMAT_1_REFUSED = (
    "a format-1 batch: this worker reads format-2 envelopes only, and a requeue refuses it again "
    "(docs/pipeline.md#upgrading-from-format-1)"
)


@dataclass(frozen=True)
class IngestResult:
    received: int
    inserted: int
    rejected: int
    quarantined: int = 0
    reason: str | None = None  # why the batch was quarantined

    @property
    def duplicates(self) -> int:
        return self.received - self.rejected - self.quarantined - self.inserted

    def counts(self) -> dict[str, int]:
        """What a write task returns: the batch's rows by what became of them."""
        return {
            "received": self.received,
            "inserted": self.inserted,
            "rejected": self.rejected,
            "quarantined": self.quarantined,
        }


def write_prediction_log_batch(payload: dict[str, Any] | str | bytes, pacer: CopyPacer | None = None) -> IngestResult:
    """Store a batch as a web process sent it: a format-2 envelope, the only shape read.

    A worker passes its `pacer` (`pacing.py`), which feeds the COPY in slices while it keeps up.
    """
    if isinstance(payload, (str, bytes)):  # JSON rows from a web process older than format 2
        return _quarantine(payload, FORMAT_1_REFUSED)
    return _store(payload, pacer)


def write_prediction_logs(records: list[dict[str, Any]]) -> IngestResult:
    """Store log records given as dicts (tools and tests): the same path as a published batch."""
    return write_prediction_log_batch(encode_log_batch(records))


def _store(envelope: Any, pacer: CopyPacer | None = None) -> IngestResult:
    try:
        batch_id, count = check_envelope(envelope, STORED_LOG_FIELDS)
        try:
            inserted = _insert_copy(batch_id, count, pacer.source(envelope["rows"]) if pacer else None, envelope)
        except REFUSED:
            return _store_isolating(batch_id, count, envelope["rows"])
    except BatchRefused as exc:
        return _quarantine(envelope, str(exc))
    finally:
        if pacer is not None:
            pacer.finished()
    return IngestResult(received=count, inserted=inserted, rejected=0)


def _insert_copy(batch_id: uuid.UUID, count: int, source: io.IOBase | None, envelope: dict[str, Any]) -> int:
    """Rows inserted: `count`, or 0 when the ledger shows the batch stored already; raises what
    the database refuses, the whole batch undone."""
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        # A concurrent delivery of the same batch waits here for this one's commit, then skips.
        cursor.execute(_CLAIM, (str(batch_id), count))
        if cursor.rowcount == 0:
            return 0
        cursor.copy_expert(_COPY, source or io.StringIO(envelope["rows"]), size=SLICE_BYTES)
        if cursor.rowcount != count:
            raise RowsMisread(f"the envelope says {count} rows, COPY read {cursor.rowcount}")
    return count


def _store_isolating(batch_id: uuid.UUID, count: int, rows: str) -> IngestResult:
    """The batch again, in one new transaction: each row the database accepts, each it refuses set aside."""
    lines = _lines(rows)
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute(_CLAIM, (str(batch_id), count))
        if cursor.rowcount == 0:  # another delivery stored it meanwhile
            return IngestResult(received=count, inserted=0, rejected=0)
        inserted, refused = store_isolating(cursor, lines, _copy_lines)
        quarantine_rows(cursor, "prediction_logs", [_quarantined_row(batch_id, len(lines), r) for r in refused])
        if inserted == 0:
            # Nothing of it is stored: its quarantine entries alone keep a redelivery from adding them
            # twice, and a one-row batch requeued under its own id can still be claimed.
            cursor.execute(_RELEASE, (str(batch_id),))
    reason = None
    if refused:
        reason = f"{len(refused)} of {len(lines)} rows refused; the first: {refused[0].reason}"
        log.error("stored %d rows of batch %s; %s", inserted, batch_id, reason)
    return IngestResult(count, inserted, 0, quarantined=len(refused), reason=reason)


def _lines(rows: str) -> list[str]:
    """A batch's CSV text as one line per row, each field quoted again (an empty field stays NULL)."""
    return [
        ",".join(quoted(field) if field else "" for field in fields) + "\n"
        for fields in csv.reader(io.StringIO(rows, newline=""))
    ]


def _copy_lines(cursor: Any, lines: list[str]) -> int:
    cursor.copy_expert(_COPY, io.StringIO("".join(lines)), size=SLICE_BYTES)
    if cursor.rowcount != len(lines):
        raise RowsMisread(f"{len(lines)} rows given, COPY read {cursor.rowcount}")
    return len(lines)


def _quarantined_row(batch_id: uuid.UUID, rows: int, refusal: Refusal) -> tuple[uuid.UUID, str, dict[str, Any]]:
    """A refused row as a one-row batch of its own: its key, its reason, and an envelope requeue can ingest."""
    key = batch_id if rows == 1 else row_key(batch_id, refusal.index)
    envelope = {
        "format": LOG_BATCH_FORMAT,
        "batch_id": str(key),
        "fields": list(STORED_LOG_FIELDS),
        "count": 1,
        "rows": refusal.row,
    }
    return key, refusal.reason, envelope


def _quarantine(envelope: Any, reason: str) -> IngestResult:
    count = envelope.get("count") if isinstance(envelope, dict) else None
    count = count if isinstance(count, int) and count > 0 else 1
    batch_id = _batch_id_or_none(envelope)
    row = {
        "batch_id": batch_id,
        "kind": "prediction_logs",
        "reason": reason[:2000],
        "row_count": count,
        "payload": _storable(envelope),
        "quarantined_at": datetime.now(UTC),
    }
    table = QuarantinedBatch.__table__
    # A redelivered refused batch is quarantined once.
    statement = insert(table).values(row).on_conflict_do_nothing(index_elements=["batch_id"])
    with db.engine.begin() as connection:
        connection.execute(statement)
    log.error("quarantined a batch of %d prediction logs (%s): %s", count, batch_id, reason)
    return IngestResult(received=count, inserted=0, rejected=0, quarantined=count, reason=reason)


def quarantine_summary() -> dict[str, int]:
    """How many batches, and rows, wait in quarantine (for /health)."""
    table = QuarantinedBatch.__table__
    with db.engine.connect() as connection:
        batches, rows = connection.execute(select(func.count(), func.coalesce(func.sum(table.c.row_count), 0))).one()
    return {"batches": batches, "rows": int(rows)}


def _batch_id_or_none(envelope: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(envelope["batch_id"]))
    except (TypeError, KeyError, ValueError):
        return None


def _storable(envelope: Any) -> Any:
    """The envelope as JSON can hold it: text that Postgres' JSON cannot (NUL) is escaped."""
    try:
        return json.loads(json.dumps(envelope, default=repr).replace("\\u0000", "\\\\u0000"))
    except (TypeError, ValueError):
        return {"unreadable": repr(envelope)[:10_000]}
