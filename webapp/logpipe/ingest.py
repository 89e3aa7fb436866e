"""Writes batches of prediction logs to the database: validated, in one statement, idempotent."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from psycopg2.extras import execute_values
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db
from ..models import PredictionLog
from ..stats.histogram import latency_bucket

log = logging.getLogger(__name__)

# Four decimals keep every stored value exactly representable as a decimal, so sums kept by the
# incremental stats refresh equal a full recompute to the last digit.
Rounded = Annotated[float, AfterValidator(lambda value: round(value, 4))]


class LogRecord(BaseModel):
    """One prediction log record as the web process publishes it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    prediction_id: uuid.UUID
    model_id: uuid.UUID
    model_version: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=256)
    text: str = Field(max_length=5000)
    prediction: Literal["positive", "negative", "neutral"]
    confidence: Rounded = Field(ge=0, le=1)
    polarity: Rounded = Field(ge=-1, le=1)
    subjectivity: Rounded = Field(ge=0, le=1)
    latency_ms: Rounded = Field(ge=0)
    routing: Literal["sticky", "random", "explicit"]
    bucket: int | None = Field(default=None, ge=0, le=99)
    created_at: AwareDatetime


COLUMNS = (
    "prediction_id",
    "model_id",
    "model_version",
    "user_id",
    "text",
    "prediction",
    "confidence",
    "polarity",
    "subjectivity",
    "latency_ms",
    "latency_bucket",
    "routing",
    "bucket",
    "created_at",
)


@dataclass(frozen=True)
class IngestResult:
    received: int
    inserted: int
    rejected: int

    @property
    def duplicates(self) -> int:
        return self.received - self.rejected - self.inserted


def write_prediction_logs(records: list[dict[str, Any]]) -> IngestResult:
    """Insert a batch, skipping records already stored (a redelivered batch changes nothing)."""
    rows, rejected = _validated_rows(records)
    inserted = _insert(rows) if rows else 0
    return IngestResult(received=len(records), inserted=inserted, rejected=rejected)


def _validated_rows(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    rows, rejected = [], 0
    for raw in records:
        try:
            record = LogRecord.model_validate(raw)
        except ValidationError as exc:
            # Our own web processes produced these; a bad one is a bug to see, not to retry forever.
            rejected += 1
            prediction_id = raw.get("prediction_id") if isinstance(raw, dict) else None
            log.error("rejected prediction log %s: %s", prediction_id, exc)
            continue
        rows.append({**record.model_dump(), "latency_bucket": latency_bucket(record.latency_ms)})
    return rows, rejected


def _insert(rows: list[dict[str, Any]]) -> int:
    if db.engine.dialect.name == "postgresql":
        return _insert_postgres(rows)
    return _insert_sqlite(rows)


def _insert_postgres(rows: list[dict[str, Any]]) -> int:
    statement = f"INSERT INTO prediction_logs ({', '.join(COLUMNS)}) VALUES %s ON CONFLICT (prediction_id) DO NOTHING"
    values = [tuple(str(row[column]) if column in _UUID_COLUMNS else row[column] for column in COLUMNS) for row in rows]
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        # One page: a single statement, so rowcount is the number actually inserted.
        execute_values(cursor, statement, values, page_size=len(values))
        return cursor.rowcount


def _insert_sqlite(rows: list[dict[str, Any]]) -> int:
    statement = sqlite_insert(PredictionLog.__table__).on_conflict_do_nothing(index_elements=["prediction_id"])
    with db.engine.begin() as connection:
        return connection.execute(statement, rows).rowcount


_UUID_COLUMNS = frozenset({"prediction_id", "model_id"})
