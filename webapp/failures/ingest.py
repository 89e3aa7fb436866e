"""Writes batches of failure records to prediction_errors: validated, one statement, idempotent.

A row that fails validation, or that Postgres refuses, goes to quarantine alone with its reason
(`logpipe/isolate.py`); the rest of its batch is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from psycopg2.extras import execute_values
from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter

from ..extensions import db
from ..logpipe.batches import BatchFormat, decode
from ..logpipe.ingest import IngestResult
from ..logpipe.isolate import content_key, quarantine_rows, store_isolating
from ..schemas import NO_NUL_PATTERN, UUID_PATTERN
from .pipeline import ERROR_FIELDS

Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]

# One row of a batch, in ERROR_FIELDS order.
ErrorRow = tuple[
    Uuid,  # error_id
    Uuid,  # model_id
    Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL_PATTERN)],  # model_version
    Literal["sticky", "random", "explicit", "shadow"],  # routing
    Annotated[int, Field(ge=0)] | None,  # config_version
    Annotated[int, Field(ge=500, le=599)],  # status
    Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL_PATTERN)],  # error_class
    AwareDatetime,  # created_at
]


ERROR_BATCH = BatchFormat("prediction errors", ERROR_FIELDS, TypeAdapter(ErrorRow))


_INSERT = (
    "INSERT INTO prediction_errors (error_id, model_id, model_version, routing, config_version, status,"
    " error_class, created_at) VALUES %s ON CONFLICT (error_id) DO NOTHING"
)


def write_error_batch(payload: dict[str, Any] | str | bytes) -> IngestResult:
    """Store a batch as the web process encoded it; a row already stored (a redelivery) is skipped."""
    decoded = decode(payload, ERROR_BATCH)
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        inserted, refusals = store_isolating(cursor, decoded.rows, _insert) if decoded.rows else (0, [])
        entries = [*decoded.refused, *(([*r.row[:-1], r.row[-1].isoformat()], r.reason) for r in refusals)]
        kind = "prediction_errors"
        quarantine_rows(cursor, kind, [(content_key(kind, row), why, row) for row, why in entries])
    # Rejected: refused by validation; quarantined: refused by the database. Both wait in quarantine.
    return IngestResult(decoded.received, inserted, rejected=len(decoded.refused), quarantined=len(refusals))


def _insert(cursor: Any, rows: Sequence[tuple]) -> int:
    execute_values(cursor, _INSERT, rows, page_size=len(rows))
    return cursor.rowcount
