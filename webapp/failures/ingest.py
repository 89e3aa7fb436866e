"""Writes batches of failure records to prediction_errors: validated, one statement, idempotent."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, TypeAdapter

from ..extensions import db, upsert_into
from ..logpipe.batches import BatchFormat, decode
from ..logpipe.ingest import IngestResult
from ..schemas import NO_NUL_PATTERN, UUID_PATTERN
from .pipeline import ERROR_FIELDS
from .tables import PredictionError

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


class ErrorBatch(BaseModel):
    fields: list[str]
    rows: list[ErrorRow]


ERROR_BATCH = BatchFormat("prediction errors", ERROR_FIELDS, ErrorBatch, TypeAdapter(ErrorRow))


def write_error_batch(payload: str | bytes) -> IngestResult:
    """Store a batch as the web process encoded it; a row already stored (a redelivery) is skipped."""
    rows, received = decode(payload, ERROR_BATCH)
    values = [
        {
            "error_id": uuid.UUID(error_id),
            "model_id": uuid.UUID(model_id),
            "model_version": model_version,
            "routing": routing,
            "config_version": config_version,
            "status": status,
            "error_class": error_class,
            "created_at": created_at,
        }
        for error_id, model_id, model_version, routing, config_version, status, error_class, created_at in rows
    ]
    inserted = _insert(values) if values else 0
    return IngestResult(received=received, inserted=inserted, rejected=received - len(rows))


def _insert(values: list[dict]) -> int:
    statement = upsert_into(PredictionError.__table__).values(values)
    statement = statement.on_conflict_do_nothing(index_elements=["error_id"])
    with db.engine.begin() as connection:
        return connection.execute(statement).rowcount
