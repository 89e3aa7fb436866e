"""A batch the database refuses on its data: store every row it accepts, set each refused row aside alone.

A batch goes in with one statement. When Postgres refuses it for what it holds (a value too long, a
violated constraint, text a column cannot read), the rows are split in halves, each tried under a
savepoint, down to the single rows that fail. Those go to `quarantined_batches`, each with its own
reason, in the same transaction as the rows stored beside them: a worker killed halfway stores
nothing, and the redelivered batch is isolated again from the start, so no row is stored twice.
A batch with one bad row among 1,000 costs about 20 statements instead of one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg2
from psycopg2.extras import Json

Row = TypeVar("Row")

# Namespaces a refused row's quarantine key, derived from its batch and place (or its content).
_ROW_NAMESPACE = uuid.UUID("0d5c7c3e-8a53-4c1f-a3d5-6f1e2b9c4d70")
_QUARANTINE = (
    "INSERT INTO quarantined_batches (batch_id, kind, reason, row_count, payload, quarantined_at) "
    "VALUES (%s, %s, %s, 1, %s, now()) ON CONFLICT (batch_id) DO NOTHING"
)


class RowsMisread(psycopg2.DataError):
    """The database read a different number of rows than it was given (a row that ends early)."""


# What the data, not the database's health, is to blame for: never worth a retry.
REFUSED = (psycopg2.DataError, psycopg2.IntegrityError)


@dataclass(frozen=True)
class Refusal:
    index: int  # the row's place in its batch
    row: Any
    reason: str


def store_isolating(
    cursor: Any, rows: Sequence[Row], write: Callable[[Any, Sequence[Row]], int]
) -> tuple[int, list[Refusal]]:
    """Rows written by `write(cursor, rows)`, retried in halves under savepoints while the database
    refuses them; returns the count written and every row refused on its own."""
    refused: list[Refusal] = []
    return _attempt(cursor, rows, 0, write, refused), refused


def _attempt(
    cursor: Any, rows: Sequence[Row], offset: int, write: Callable[[Any, Sequence[Row]], int], refused: list[Refusal]
) -> int:
    cursor.execute("SAVEPOINT isolate")
    try:
        written = write(cursor, rows)
    except REFUSED as exc:
        cursor.execute("ROLLBACK TO SAVEPOINT isolate")
        cursor.execute("RELEASE SAVEPOINT isolate")
        if len(rows) == 1:
            refused.append(Refusal(offset, rows[0], refusal_reason(exc)))
            return 0
        middle = len(rows) // 2
        return _attempt(cursor, rows[:middle], offset, write, refused) + _attempt(
            cursor, rows[middle:], offset + middle, write, refused
        )
    cursor.execute("RELEASE SAVEPOINT isolate")
    return written


def refusal_reason(exc: Exception) -> str:
    """The database's own words for a refusal, on one line, bounded."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}"[:2000]


def row_key(batch_key: uuid.UUID | str, index: int) -> uuid.UUID:
    """A refused row's quarantine key: the same row of the same batch always gets the same one."""
    return uuid.uuid5(_ROW_NAMESPACE, f"{batch_key}:{index}")


def content_key(kind: str, row: Any) -> uuid.UUID:
    """A refused row's quarantine key from its content, for streams whose batches carry no id."""
    return uuid.uuid5(_ROW_NAMESPACE, f"{kind}:{json.dumps(row, default=str, sort_keys=True)}")


def quarantine_rows(cursor: Any, kind: str, entries: Sequence[tuple[uuid.UUID, str, Any]]) -> None:
    """Set refused rows aside, each as (key, reason, payload), in the caller's transaction; a key seen
    before (a redelivered batch) is kept once."""
    for key, reason, payload in entries:
        cursor.execute(_QUARANTINE, (str(key), kind, reason, Json(json_safe(payload))))


def json_safe(value: Any) -> Any:
    """A payload Postgres' JSON can hold: NUL and lone surrogates become visible escapes."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)
