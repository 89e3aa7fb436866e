"""The batch formats between web processes and workers.

Prediction logs travel as an envelope around rows already in the form Postgres' COPY reads:

    {"format": 2, "batch_id": "<uuid>", "fields": [...], "count": N, "rows": "<CSV text>"}

sent with Celery's msgpack serializer, so each text crosses every layer once, as a copy: no JSON
escaping, no base64, no second encoding inside the task message. The worker checks the envelope,
not the rows: the web built them from validated requests, and the table's constraints catch the rest.

`batch_id` is derived from the batch's prediction ids, so a batch re-sent from the spool, or
redelivered by the broker, carries the same id and the worker's ledger skips it whole.

Feedback (and prediction logs from web processes older than format 2) travel as one compact JSON
string `{"fields": [...], "rows": [[...], ...]}`, each row in its fields' order.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from typing import Any

from ..stats.histogram import latency_bucket

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
# Namespaces the digest of a batch's prediction ids into its batch id.
_BATCH_NAMESPACE = uuid.UUID("6f0b8c1e-2f43-4a57-9d51-0c4f6b1f8a20")

# Rows encoded between two releases of the GIL (see `encode_log_batch`).
ROWS_PER_SLICE = 100

# Feedback travels the same way: one batch of rows per task (`feedback.write_batch`).
FEEDBACK_FIELDS = ("prediction_id", "label", "reward", "received_at")


def encode_log_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Prediction log records (dicts keyed by `LOG_FIELDS`) as one format-2 envelope.

    The web's shipping thread calls this. A 1,000-row batch takes about 5 ms, and a request thread
    that wants the GIL meanwhile waits up to the 5 ms switch interval: about 1% of the time, in the
    answers' p99. So it gives the GIL back every `ROWS_PER_SLICE` rows.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for start in range(0, len(records), ROWS_PER_SLICE):
        # None becomes an empty unquoted field, which COPY reads as NULL.
        writer.writerows(
            [*(record.get(field) for field in LOG_FIELDS), latency_bucket(record["latency_ms"])]
            for record in records[start : start + ROWS_PER_SLICE]
        )
        time.sleep(0)  # releases the GIL: a waiting request thread takes it now, not in 5 ms
    return {
        "format": LOG_BATCH_FORMAT,
        "batch_id": batch_id_of(record["prediction_id"] for record in records),
        "fields": list(STORED_LOG_FIELDS),
        "count": len(records),
        "rows": text.getvalue(),
    }


def batch_id_of(prediction_ids) -> str:
    """The id of the batch holding exactly these predictions, in this order."""
    return str(uuid.uuid5(_BATCH_NAMESPACE, ",".join(prediction_ids)))


def encode_batch(records: list[dict[str, Any]], fields: tuple[str, ...] = LOG_FIELDS) -> str:
    """Records (dicts keyed by `fields`) as one JSON batch: feedback, and format-1 prediction logs."""
    rows = [[record.get(field) for field in fields] for record in records]
    return json.dumps({"fields": fields, "rows": rows}, separators=(",", ":"))


def encode_feedback_batch(records: list[dict[str, Any]]) -> str:
    """A batch of feedback records (dicts keyed by `FEEDBACK_FIELDS`)."""
    return encode_batch(records, FEEDBACK_FIELDS)
