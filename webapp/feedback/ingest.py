"""Writes batches of feedback to the database: validated, one statement, idempotent, latest wins.

`INSERT ... ON CONFLICT (prediction_id) DO UPDATE`: a second feedback for a prediction replaces
the first, unless it is older (a redelivered batch never undoes a newer feedback). Every write
moves the row into the stats refresh's next window: it sets `txid` to the writing transaction.

A row that fails validation, or that Postgres refuses, goes to quarantine alone with its reason
(`logpipe/isolate.py`); the rest of its batch is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from psycopg2.extras import execute_values
from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter

from ..extensions import db
from ..logpipe.batches import BatchFormat, decode
from ..logpipe.ingest import IngestResult
from ..logpipe.isolate import Refusal, content_key, quarantine_rows, store_isolating
from ..logpipe.wire import FEEDBACK_FIELDS
from ..schemas import UUID_PATTERN, Label

log = logging.getLogger(__name__)

# One row of a batch, in FEEDBACK_FIELDS order.
FeedbackRow = tuple[
    Annotated[str, StringConstraints(pattern=UUID_PATTERN)],  # prediction_id
    Label | None,  # label
    Annotated[float, Field(ge=0, le=1)] | None,  # reward
    AwareDatetime,  # received_at
]

# `revision` is NOT NULL with no server default and no longer read (see feedback/models.py): 0.
_UPSERT = """
INSERT INTO feedback (prediction_id, label, reward, received_at, revision) VALUES %s
ON CONFLICT (prediction_id) DO UPDATE
SET label = EXCLUDED.label, reward = EXCLUDED.reward, received_at = EXCLUDED.received_at,
    txid = pg_current_xact_id()
WHERE feedback.received_at <= EXCLUDED.received_at
"""


FEEDBACK_BATCH = BatchFormat("feedback", FEEDBACK_FIELDS, TypeAdapter(FeedbackRow))


def write_feedback_batch(payload: dict[str, Any] | str | bytes) -> IngestResult:
    """Store a batch as the web process encoded it; the latest feedback per prediction wins."""
    decoded = decode(payload, FEEDBACK_BATCH)
    refused = list(decoded.refused)
    latest: dict[str, tuple] = {}
    for row in decoded.rows:
        prediction_id, label, reward, received_at = row
        if label is None and reward is None:
            refused.append((list(row), "neither label nor reward"))
            continue
        key = prediction_id.lower()
        if key not in latest or latest[key][3] <= received_at:
            latest[key] = (key, label, None if reward is None else round(reward, 4), received_at)
    ordered = [latest[key] for key in sorted(latest)]  # one lock order with the stats refresh: no deadlocks
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        written, refusals = store_isolating(cursor, ordered, _upsert) if ordered else (0, [])
        entries = [*refused, *map(_refused_row, refusals)]
        quarantine_rows(cursor, "feedback", [(content_key("feedback", row), why, row) for row, why in entries])
    # Rejected: refused by validation; quarantined: refused by the database. Both wait in quarantine.
    return IngestResult(decoded.received, written, rejected=len(refused), quarantined=len(refusals))


def _refused_row(refusal: Refusal) -> tuple[list, str]:
    prediction_id, label, reward, received_at = refusal.row
    return [prediction_id, label, reward, received_at.isoformat()], refusal.reason


def _upsert(cursor: Any, rows: Sequence[tuple]) -> int:
    execute_values(cursor, _UPSERT, [(*row, 0) for row in rows], page_size=len(rows))
    return cursor.rowcount
