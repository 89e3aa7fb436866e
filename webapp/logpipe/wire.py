"""The one batch format between web processes and workers, and the prediction-log stream's declaration.

Every stream's batches travel as an envelope around rows already in the CSV form Postgres' COPY reads:

    {"format": 2, "batch_id": "<uuid>", "fields": [...], "count": N, "rows": "<CSV text>"}

sent with Celery's msgpack serializer, so each text crosses every layer once, as a copy: no JSON
escaping, no base64, no second encoding inside the task message. The worker checks the envelope,
not the rows: the web built them from validated requests, and a row the database still refuses is
set aside alone (`ingest.py`), never with its batch.

Each record becomes its CSV line as it is buffered, on the request thread that made it
(`log_row`), so the shipping thread only joins the lines: encoding a whole batch at once held the
GIL long enough for the answers served meanwhile to wait (docs/benchmarks.md).

`batch_id` is derived from the batch's rows, so a batch re-sent from the spool, or redelivered by
the broker, carries the same id and the worker's ledger skips it whole.

Feedback and failure records travel in the same envelope (`CsvRows`, declared with their fields
beside their streams), each row made on the request thread like a log row; their worker reads the
rows back and validates them one by one (`batches.py`). The format-1 JSON batches of prediction logs
are no longer read: the worker quarantines them whole (`ingest.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..latency import latency_bucket
from ..tasks import WRITE_BATCH_TASK
from .streams import Stream

LOG_FIELDS = (
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
    "routing",
    "bucket",
    "created_at",
    "slot",
    "shadow_of",
    "config_version",
)
LOG_BATCH_FORMAT = 2
# The stored columns: the wire fields, plus the latency bucket the stats refresh groups by.
STORED_LOG_FIELDS = (*LOG_FIELDS, "latency_bucket")
# Namespaces the digest of a batch's rows into its batch id.
_BATCH_NAMESPACE = uuid.UUID("6f0b8c1e-2f43-4a57-9d51-0c4f6b1f8a20")

# Feedback's fields: its stream is declared in `feedback/pipeline.py`, its batches read by `feedback/ingest.py`.
FEEDBACK_FIELDS = ("prediction_id", "label", "reward", "received_at")


def log_row(record: dict[str, Any]) -> str:
    """A prediction log record (a dict keyed by `LOG_FIELDS`) as one line of the CSV text COPY reads.

    Every text is quoted, whatever it holds: a lone carriage return, a `\\.` (COPY's end-of-data
    mark) or a quote then reach COPY as data. Python's csv module quotes a lone carriage return only
    from 3.11.9 on, and an unquoted one ends the row early, which cost every row of its batch. None
    and the empty text become an empty unquoted field, which COPY reads as NULL (no field the API
    accepts is empty, and a row read back for isolation cannot tell the two apart); numbers go as
    Python writes them.
    """
    # `csv_line`'s rules, inlined: building its list of values first made every /predict slower.
    fields = []
    for field in LOG_FIELDS:
        value = record.get(field)
        if value is None:
            fields.append("")
        elif value.__class__ is str:
            fields.append(quoted(value) if value else "")
        else:
            fields.append(str(value))
    fields.append(str(latency_bucket(record["latency_ms"])))
    return ",".join(fields) + "\n"


def csv_line(values: list[Any]) -> str:
    """Values as one CSV line, as `log_row` makes them: texts quoted, None and "" empty (NULL),
    numbers as Python writes them."""
    fields = []
    for value in values:
        if value is None:
            fields.append("")
        elif value.__class__ is str:
            fields.append(quoted(value) if value else "")
        else:
            fields.append(str(value))
    return ",".join(fields) + "\n"


def quoted(text: str) -> str:
    """One CSV field that COPY reads back as exactly `text`."""
    return '"' + text.replace('"', '""') + '"'


def envelope(fields: tuple[str, ...], rows: list[str]) -> dict[str, Any]:
    """CSV lines in `fields` order as one format-2 envelope, its id derived from its rows."""
    text = "".join(rows)
    return {
        "format": LOG_BATCH_FORMAT,
        "batch_id": str(uuid.uuid5(_BATCH_NAMESPACE, text)),
        "fields": list(fields),
        "count": len(rows),
        "rows": text,
    }


def encode_log_rows(rows: list[str]) -> dict[str, Any]:
    """Rows made by `log_row` as one format-2 envelope."""
    return envelope(STORED_LOG_FIELDS, rows)


def encode_log_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Prediction log records as one format-2 envelope: for the worker's own tools and the tests."""
    return encode_log_rows([log_row(record) for record in records])


@dataclass(frozen=True)
class CsvRows:
    """A stream whose record is a dict keyed by `fields`: each a CSV line, batches format-2 envelopes."""

    fields: tuple[str, ...]

    def row(self, record: dict[str, Any]) -> str:
        """A record as its CSV line, made on the request thread."""
        return csv_line([*map(record.get, self.fields)])

    def batch(self, rows: list[str]) -> dict[str, Any]:
        """Lines made by `row` as one envelope, the task's single argument."""
        return envelope(self.fields, rows)

    def encode(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Records as one batch: for tools and tests."""
        return self.batch([self.row(record) for record in records])


FEEDBACK_ROWS = CsvRows(FEEDBACK_FIELDS)
encode_feedback_batch = FEEDBACK_ROWS.encode

PREDICTION_LOGS = Stream(
    name="prediction_logs",
    task=WRITE_BATCH_TASK,
    spool_subdir="",
    encode_record=log_row,
    encode_batch=encode_log_rows,
    serializer="msgpack",
)
