"""Ingest of a published batch: every good row stored verbatim, exactly once; bad rows counted, never fatal."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from tests.records import log_record
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_log_batch, write_prediction_logs
from webapp.logpipe.wire import LOG_FIELDS, encode_batch
from webapp.models import PredictionLog


def stored(prediction_id: str) -> PredictionLog | None:
    db.session.expire_all()
    return db.session.scalar(select(PredictionLog).where(PredictionLog.prediction_id == uuid.UUID(prediction_id)))


def test_texts_with_csv_and_copy_specials_are_stored_verbatim(app):
    texts = ['a "quoted", comma', "two\nlines\r\nand a tab\t", "back\\slash \\N", "   ", "émoji 😀", "\\."]
    records = [log_record(str(uuid.uuid4()), text=text, user_id=" ") for text in texts]
    with app.app_context():
        assert write_prediction_logs(records).inserted == len(texts)
        for record in records:
            row = stored(record["prediction_id"])
            assert (row.text, row.user_id) == (record["text"], " ")


def test_missing_user_and_bucket_are_stored_as_null(app):
    record = log_record(str(uuid.uuid4()), user_id=None, bucket=None)
    with app.app_context():
        write_prediction_logs([record])
        row = stored(record["prediction_id"])
        assert row.user_id is None and row.bucket is None


def test_a_redelivered_batch_inserts_nothing_twice(app):
    payload = encode_batch([log_record(str(uuid.uuid4())) for _ in range(50)])
    with app.app_context():
        assert write_prediction_log_batch(payload).inserted == 50
        again = write_prediction_log_batch(payload)
    assert (again.inserted, again.duplicates, again.rejected) == (0, 50, 0)


def test_a_repeated_prediction_id_within_one_batch_is_stored_once(app):
    record = log_record(str(uuid.uuid4()))
    with app.app_context():
        result = write_prediction_logs([record, record])
    assert (result.received, result.inserted) == (2, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"text": "nul \x00 inside"},  # Postgres text cannot hold it; COPY would fail the whole batch
        {"confidence": 1.5},
        {"prediction": "maybe"},
        {"prediction_id": "not-a-uuid"},
        {"user_id": ""},  # would be indistinguishable from NULL
        {"created_at": "2026-01-01T00:00:00"},  # no time zone
    ],
)
def test_a_bad_row_is_rejected_and_the_rest_of_its_batch_stored(app, bad):
    good = [log_record(str(uuid.uuid4())) for _ in range(3)]
    with app.app_context():
        result = write_prediction_logs([good[0], log_record(str(uuid.uuid4()), **bad), *good[1:]])
        assert (result.received, result.inserted, result.rejected) == (4, 3, 1)
        assert all(stored(record["prediction_id"]) for record in good)


def test_a_batch_in_a_format_the_worker_does_not_know_is_rejected_whole(app):
    record = log_record(str(uuid.uuid4()))
    payload = json.dumps({"fields": list(reversed(LOG_FIELDS)), "rows": [[record[f] for f in reversed(LOG_FIELDS)]]})
    with app.app_context():
        result = write_prediction_log_batch(payload)
        assert (result.inserted, result.rejected) == (0, 1)
        assert stored(record["prediction_id"]) is None


def test_undecodable_payloads_are_rejected_without_raising(app):
    with app.app_context():
        assert write_prediction_log_batch("{not json").rejected == 1
        assert write_prediction_log_batch('{"rows": 3}').rejected == 1


@pytest.mark.parametrize("fields", [13, 15], ids=["first format", "before config_version"])
def test_a_batch_from_a_web_process_started_before_the_last_fields_were_added_is_stored(app, fields):
    record = log_record(str(uuid.uuid4()))
    legacy = LOG_FIELDS[:fields]  # what web processes sent before the later fields were appended
    payload = json.dumps({"fields": list(legacy), "rows": [[record[f] for f in legacy]]})
    with app.app_context():
        result = write_prediction_log_batch(payload)
        assert (result.inserted, result.rejected) == (1, 0)
        assert stored(record["prediction_id"]) is not None
