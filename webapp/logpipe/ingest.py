"""Writes batches of prediction logs to the database: validated, in one statement, idempotent.

On Postgres a batch is COPYed into a per-connection staging table and moved with one
`INSERT ... SELECT ... ON CONFLICT (prediction_id) DO NOTHING`, so a redelivered batch inserts
nothing twice; COPY halves the cost per row of a multi-row INSERT (see `make bench`).
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, TypeAdapter

from ..extensions import db
from ..models import PredictionLog
from ..stats.histogram import latency_bucket
from .batches import BatchFormat, decode
from .wire import LOG_FIELDS, encode_batch

# The fields of the first batch format; every field appended since (slot, shadow_of, config_version) is nullable.
FIRST_FIELDS = 13

log = logging.getLogger(__name__)

# Postgres text cannot hold NUL, and COPY would fail the whole batch on one such row.
_NO_NUL = r"^[^\x00]*$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

Uuid = Annotated[str, StringConstraints(pattern=_UUID)]
Unit = Annotated[float, Field(ge=0, le=1)]

# One row of a batch, in LOG_FIELDS order. Empty strings are refused where NULL is allowed, so
# that an empty CSV field can only mean NULL.
LogRow = tuple[
    Uuid,  # prediction_id
    Uuid,  # model_id
    Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)],  # model_version
    Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NO_NUL)] | None,  # user_id
    Annotated[str, StringConstraints(min_length=1, max_length=5000, pattern=_NO_NUL)],  # text
    Literal["positive", "negative", "neutral"],  # prediction
    Unit,  # confidence
    Annotated[float, Field(ge=-1, le=1)],  # polarity
    Unit,  # subjectivity
    Annotated[float, Field(ge=0)],  # latency_ms
    Literal["sticky", "random", "explicit", "shadow"],  # routing
    Annotated[int, Field(ge=0, le=99)] | None,  # bucket
    AwareDatetime,  # created_at
    Annotated[int, Field(ge=0, le=9_999)] | None,  # slot
    Uuid | None,  # shadow_of: the served prediction a shadow run mirrored
    Annotated[int, Field(ge=0)] | None,  # config_version
]


class LogBatch(BaseModel):
    fields: list[str]
    rows: list[LogRow]


LOG_BATCH = BatchFormat("prediction logs", LOG_FIELDS, LogBatch, TypeAdapter(LogRow), oldest_fields=FIRST_FIELDS)

# The stored columns: the wire fields, plus the latency bucket the stats refresh groups by.
COLUMNS = (*LOG_FIELDS, "latency_bucket")
_COLUMN_LIST = ", ".join(COLUMNS)
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming_prediction_logs ON COMMIT DELETE ROWS AS "
    f"SELECT {_COLUMN_LIST} FROM prediction_logs WITH NO DATA"
)
_COPY = f"COPY incoming_prediction_logs ({_COLUMN_LIST}) FROM STDIN WITH (FORMAT csv)"
# prediction_id is not unique on the partitioned table, so there is no conflict to skip on.
_MOVE = f"INSERT INTO prediction_logs ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM incoming_prediction_logs"


@dataclass(frozen=True)
class IngestResult:
    received: int
    inserted: int
    rejected: int

    @property
    def duplicates(self) -> int:
        return self.received - self.rejected - self.inserted


def write_prediction_log_batch(payload: str | bytes) -> IngestResult:
    """Insert a batch as the web process encoded it; rows already stored are skipped."""
    rows, received = decode(payload, LOG_BATCH)
    stored = [_stored_row(row) for row in rows]
    inserted = _insert(stored) if stored else 0
    return IngestResult(received=received, inserted=inserted, rejected=received - len(rows))


def write_prediction_logs(records: list[dict[str, Any]]) -> IngestResult:
    """Insert log records given as dicts (tools and tests); the same path as a published batch."""
    return write_prediction_log_batch(encode_batch(records))


def _stored_row(row: tuple) -> tuple:
    """A validated row in COLUMNS order. Four decimals keep every value exactly representable as
    a decimal, so the sums kept by the incremental stats refresh equal a full recompute."""
    (prediction_id, model_id, version, user_id, text, label, confidence, polarity, subjectivity, latency, routing,
     bucket, created_at, slot, shadow_of, config_version) = row  # fmt: skip
    latency = round(latency, 4)
    return (
        prediction_id.lower(),
        model_id.lower(),
        version,
        user_id,
        text,
        label,
        round(confidence, 4),
        round(polarity, 4),
        round(subjectivity, 4),
        latency,
        routing,
        bucket,
        created_at,
        slot,
        None if shadow_of is None else shadow_of.lower(),
        config_version,
        latency_bucket(latency),
    )


def _insert(rows: list[tuple]) -> int:
    if db.engine.dialect.name == "postgresql":
        return _insert_postgres(rows)
    return _insert_sqlite(rows)


def _insert_postgres(rows: list[tuple]) -> int:
    with db.engine.begin() as connection:
        pooled = connection.connection  # `info` lives as long as the database connection
        cursor = pooled.dbapi_connection.cursor()
        if not pooled.info.get("staging_table"):
            cursor.execute(_CREATE_STAGING)
        cursor.copy_expert(_COPY, _csv(rows))
        cursor.execute(_MOVE)
        inserted = cursor.rowcount
    pooled.info["staging_table"] = True  # committed, so the table now outlives this transaction
    return inserted


def _csv(rows: Iterable[tuple]) -> io.StringIO:
    """Rows as COPY's CSV: None is an empty unquoted field (NULL); every text holds at least one character."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    return buffer


def _insert_sqlite(rows: list[tuple]) -> int:
    statement = PredictionLog.__table__.insert()
    # SQLAlchemy's Uuid type binds UUID objects; Postgres' COPY above parses the text itself.
    values = [_uuids_bound(dict(zip(COLUMNS, row, strict=True))) for row in rows]
    with db.engine.begin() as connection:
        return connection.execute(statement, values).rowcount


def _uuids_bound(values: dict[str, Any]) -> dict[str, Any]:
    for column in ("prediction_id", "model_id", "shadow_of"):
        if values[column] is not None:
            values[column] = uuid.UUID(values[column])
    return values
