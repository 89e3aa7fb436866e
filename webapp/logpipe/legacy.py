"""Format-1 prediction log batches: JSON rows from web processes started before format 2.

A worker deploys first in a rolling upgrade, so it still reads them. These rows were not built
for COPY, so each is validated here, bad rows are logged and counted, and the good ones are
re-encoded as a format-2 envelope and stored the same way as any other batch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, TypeAdapter

from ..schemas import NO_NUL_PATTERN, UUID_PATTERN
from .batches import BatchFormat, decode
from .wire import LOG_FIELDS, encode_log_batch

# The fields of the first batch format; every field appended since (slot, shadow_of, config_version) is nullable.
FIRST_FIELDS = 13


Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
Unit = Annotated[float, Field(ge=0, le=1)]

# One row of a batch, in LOG_FIELDS order. Empty strings are refused where NULL is allowed, so
# that an empty CSV field can only mean NULL.
LogRow = tuple[
    Uuid,  # prediction_id
    Uuid,  # model_id
    Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL_PATTERN)],  # model_version
    Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NO_NUL_PATTERN)] | None,  # user_id
    Annotated[str, StringConstraints(min_length=1, max_length=5000, pattern=NO_NUL_PATTERN)],  # text
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


def upgraded(payload: str | bytes) -> tuple[dict[str, Any] | None, int, int]:
    """A format-1 batch as a format-2 envelope of its valid rows (None if none is), how many rows
    it held, and how many were rejected."""
    decoded = decode(payload, LOG_BATCH)
    records = list({record["prediction_id"]: record for record in map(_record, decoded.rows)}.values())
    envelope = encode_log_batch(records) if records else None
    return envelope, decoded.received, decoded.received - len(decoded.rows)


def _record(row: tuple) -> dict[str, Any]:
    """A validated row as a record; four decimals keep every value exactly representable as a
    decimal, so the sums kept by the incremental stats refresh equal a full recompute."""
    record = dict(zip(LOG_FIELDS, row, strict=True))
    for field in ("prediction_id", "model_id", "shadow_of"):
        if record[field] is not None:
            record[field] = record[field].lower()
    for field in ("confidence", "polarity", "subjectivity", "latency_ms"):
        record[field] = round(record[field], 4)
    record["created_at"] = record["created_at"].isoformat()
    return record
