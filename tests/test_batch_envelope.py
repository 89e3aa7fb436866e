"""One envelope for every stream: feedback and failure records travel as prediction logs do, and the
JSON batches of the previous release are still stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.failures.ingest import write_error_batch
from webapp.failures.models import PredictionError
from webapp.failures.pipeline import ERROR_FIELDS, ERRORS, failure_record
from webapp.feedback.ingest import write_feedback_batch
from webapp.feedback.models import Feedback
from webapp.feedback.pipeline import FEEDBACK
from webapp.logpipe.batches import csv_rows
from webapp.logpipe.wire import FEEDBACK_FIELDS, PREDICTION_LOGS
from webapp.models import QuarantinedBatch


def feedback(label: str | None = "positive", reward: float | None = 0.25) -> dict:
    return {
        "prediction_id": str(uuid.uuid4()),
        "label": label,
        "reward": reward,
        "received_at": datetime.now(UTC).isoformat(),
    }


def stored(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_stream_sends_the_same_envelope_with_the_same_serializer():
    record = feedback(label="neutral", reward=None)
    batch = FEEDBACK.encode_batch([FEEDBACK.encode_record(record)])
    assert set(batch) == {"format", "batch_id", "fields", "count", "rows"}
    assert (batch["format"], batch["fields"], batch["count"]) == (2, list(FEEDBACK_FIELDS), 1)
    assert csv_rows(batch["rows"]) == [[record["prediction_id"], "neutral", None, record["received_at"]]]
    assert {stream.serializer for stream in (PREDICTION_LOGS, FEEDBACK, ERRORS)} == {"msgpack"}
    assert FEEDBACK.encode_batch([FEEDBACK.encode_record(record)]) == batch  # a re-sent batch keeps its id


def test_texts_that_csv_could_misread_come_back_as_they_were(app):
    model_id = str(uuid.uuid4())
    failure = failure_record(model_id, 'v"1\r\n,\\.', "random", None, 500, RuntimeError())
    with app.app_context():
        result = write_error_batch(ERRORS.encode_batch([ERRORS.encode_record(failure)]))
        assert (result.inserted, result.rejected) == (1, 0)
        stored_version = db.session.scalar(select(PredictionError.model_version))
        assert stored_version == 'v"1\r\n,\\.'


def test_a_json_batch_of_the_previous_release_is_still_stored(app):
    """Batches queued or spooled before the upgrade are read for one release (docs/pipeline.md)."""
    fed = feedback()
    old_feedback = json.dumps({"fields": FEEDBACK_FIELDS, "rows": [[fed[field] for field in FEEDBACK_FIELDS]]})
    failure = failure_record(str(uuid.uuid4()), "1.0.0", "random", 3, 500, RuntimeError())
    old_errors = json.dumps({"fields": ERROR_FIELDS, "rows": [[failure[field] for field in ERROR_FIELDS]]})
    with app.app_context():
        assert write_feedback_batch(old_feedback).inserted == 1
        assert write_error_batch(old_errors).inserted == 1
        assert (stored(Feedback), stored(PredictionError)) == (1, 1)


def test_an_envelope_whose_count_is_not_its_rows_is_quarantined_whole(app):
    batch = FEEDBACK.encode_batch([FEEDBACK.encode_record(feedback()) for _ in range(2)])
    with app.app_context():
        result = write_feedback_batch({**batch, "count": 3})
        assert (result.received, result.inserted, result.rejected) == (3, 0, 1)
        [entry] = db.session.scalars(select(QuarantinedBatch).where(QuarantinedBatch.kind == "feedback"))
        assert "the envelope says 3 rows, its text holds 2" in entry.reason
        assert entry.payload["rows"] == batch["rows"] and stored(Feedback) == 0


def test_a_row_that_fails_validation_is_rejected_alone(app):
    good, bad = feedback(), feedback(reward=1.5)
    with app.app_context():
        result = write_feedback_batch(FEEDBACK.encode_batch([FEEDBACK.encode_record(r) for r in (good, bad)]))
        assert (result.received, result.inserted, result.rejected) == (2, 1, 1)
        [entry] = db.session.scalars(select(QuarantinedBatch).where(QuarantinedBatch.kind == "feedback"))
        assert entry.payload[0] == bad["prediction_id"] and "less than or equal to 1" in entry.reason
