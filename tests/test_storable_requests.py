"""Whatever /predict or /feedback accepts, the worker can store: generated bodies, the real partitioned log.

Each generated body goes through the request schema the API validates with. Every body it accepts
is served by the real prediction path into a log record, encoded as the web encodes it, and COPYed
into `prediction_logs`: the row must be stored, not quarantined, and read back exactly as sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from tests.api import activate, register
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.feedback.models import Feedback
from webapp.feedback.schemas import FeedbackBody
from webapp.feedback.service import submit_feedback
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_feedback_batch
from webapp.models import PredictionLog
from webapp.predict.schemas import PredictRequest
from webapp.predict.service import predict

# What broke batches before: COPY's and CSV's specials, line ends, invisible and wide characters.
NASTY = [
    "\r", "\n", "\r\n", "\\.", "\\N", '"', ",", "\t", "\x01", "\x1b", "\x7f", "\u2028", "\u2029", "\ufeff",
    "é" * 4999, "😀", "\\", "NULL", "", " ",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=5), max_size=12).map("".join),
    st.text(min_size=4990, max_size=5010, alphabet="ab\r\n\\.é"),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63, -(2**63) - 1, -(10**300), 10**255, 10**256, 0]),
    st.floats(allow_nan=False),
)
values = st.one_of(texts, numbers, st.none(), st.booleans())
bodies = st.fixed_dictionaries(
    {"text": st.one_of(texts, values)},
    optional={
        "user_id": st.one_of(texts, numbers, values),
        "model": st.sampled_from(["sentiment", "other", "Sentiment", ""]),
        "model_version": st.sampled_from(["1.0.0", "2.0.0", "1.0", "\r"]),
    },
)


class Collect(list):
    def append(self, record: dict) -> None:  # the LogSink the buffer would be
        super().append(record)


@pytest.fixture
def served(app: Flask) -> Iterator[Flask]:
    client = app.test_client()
    activate(client, register(client)["model_id"], 100)
    with app.app_context():
        yield app


def accepted(model: type, raw: str):
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        return None


@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, ascii_only=st.booleans())
def test_every_prediction_the_api_accepts_is_stored_exactly_as_sent(served, body, ascii_only):
    request = accepted(PredictRequest, json.dumps(body, ensure_ascii=ascii_only))
    if request is None:
        return
    table = served.extensions["router"].table()
    records, failures = Collect(), Collect()
    try:
        predict(request, table, records, failures)
    except Exception as exc:  # a request the router refuses (an unknown model) is answered 4xx, never logged
        assert getattr(exc, "status", 500) < 500, exc
        return
    result = write_prediction_logs(records)
    assert (result.inserted, result.quarantined, result.rejected) == (1, 0, 0), result.reason
    stored = db.session.scalar(
        select(PredictionLog).where(PredictionLog.prediction_id == uuid.UUID(records[0]["prediction_id"]))
    )
    assert (stored.text, stored.user_id) == (request.text, request.user_key)
    db.session.rollback()


feedback_records = st.fixed_dictionaries(
    {"prediction_id": st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), values)},
    optional={
        "label": st.one_of(st.sampled_from(["positive", "negative", "neutral"]), values),
        "reward": st.one_of(st.floats(min_value=0, max_value=1), numbers, values),
    },
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(feedback_records, st.lists(feedback_records, max_size=5)))
def test_every_feedback_the_api_accepts_is_stored(served, body):
    feedback = accepted(FeedbackBody, json.dumps(body))
    if feedback is None:
        return
    records = Collect()
    submit_feedback(feedback.root, records)
    result = write_feedback_batch(encode_feedback_batch(records))
    assert (result.inserted, result.quarantined, result.rejected) == (len(records), 0, 0)
    for record in records:
        assert db.session.get(Feedback, uuid.UUID(record["prediction_id"])) is not None
    db.session.rollback()
