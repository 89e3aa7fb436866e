"""Ingest of a published batch: stored exactly once; a row the database refuses is quarantined alone."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from sqlalchemy import func, select

from tests.records import log_record
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_log_batch, write_prediction_logs
from webapp.logpipe.wire import LOG_FIELDS, encode_log_batch
from webapp.models import PredictionLog, PredictionLogBatch, QuarantinedBatch

MODEL_ID = str(uuid.uuid4())


def stored(prediction_id: str) -> PredictionLog | None:
    db.session.expire_all()
    return db.session.scalar(select(PredictionLog).where(PredictionLog.prediction_id == uuid.UUID(prediction_id)))


def copies(prediction_id: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(PredictionLog).where(PredictionLog.prediction_id == uuid.UUID(prediction_id))
    )


def quarantined() -> list[QuarantinedBatch]:
    db.session.expire_all()
    return list(db.session.scalars(select(QuarantinedBatch)))


def records(count: int, **overrides) -> list[dict]:
    return [log_record(MODEL_ID, **overrides) for _ in range(count)]


def test_texts_with_csv_and_copy_specials_are_stored_verbatim(app):
    texts = [
        'a "quoted", comma',
        "two\nlines\r\nand a tab\t",
        "back\\slash \\N",
        "   ",
        "émoji 😀",
        "\\.",
        "lone\rreturn",
        "\r",
        "\\.\n",
        "\u2028\u2029\ufeff",
        "\x01\x1f\x7f",
    ]
    batch = [log_record(MODEL_ID, text=text, user_id=" ") for text in texts]
    with app.app_context():
        assert write_prediction_logs(batch).inserted == len(texts)
        for record in batch:
            row = stored(record["prediction_id"])
            assert (row.text, row.user_id) == (record["text"], " ")


def test_missing_user_and_bucket_are_stored_as_null(app):
    record = log_record(MODEL_ID, user_id=None, bucket=None)
    with app.app_context():
        write_prediction_logs([record])
        row = stored(record["prediction_id"])
        assert row.user_id is None and row.bucket is None


def test_a_redelivered_batch_is_skipped_whole_by_the_ledger(app):
    payload = encode_log_batch(records(50))
    with app.app_context():
        assert write_prediction_log_batch(payload).inserted == 50
        again = write_prediction_log_batch(payload)
        assert (again.inserted, again.duplicates, again.quarantined) == (0, 50, 0)
        assert db.session.get(PredictionLogBatch, uuid.UUID(payload["batch_id"])).row_count == 50


def test_the_same_batch_delivered_twice_at_once_is_stored_once(app):
    batch = records(200)
    payload = encode_log_batch(batch)
    results = []

    def deliver() -> None:
        with app.app_context():
            results.append(write_prediction_log_batch(payload).inserted)

    deliveries = [threading.Thread(target=deliver) for _ in range(4)]
    for delivery in deliveries:
        delivery.start()
    for delivery in deliveries:
        delivery.join()
    assert sorted(results) == [0, 0, 0, 200]
    with app.app_context():
        assert {copies(record["prediction_id"]) for record in batch} == {1}


def test_a_batch_id_is_derived_from_its_rows():
    batch = records(3)
    assert encode_log_batch(batch)["batch_id"] == encode_log_batch([dict(record) for record in batch])["batch_id"]
    assert encode_log_batch(batch)["batch_id"] != encode_log_batch(batch[:2])["batch_id"]


@pytest.mark.parametrize(
    "bad",
    [
        {"text": "nul \x00 inside"},  # Postgres text cannot hold it
        {"prediction_id": "not-a-uuid"},
        {"created_at": "2026-13-45T00:00:00+00:00"},
        {"confidence": 1.5},  # the table's CHECK constraints
        {"prediction": "maybe"},
        {"text": ""},  # the empty text is NULL, which the column refuses
        {"user_id": "u" * 257},  # past the column's 256 characters
    ],
)
def test_a_row_the_database_refuses_is_quarantined_alone_and_the_rest_stored(app, bad):
    batch = [*records(2), log_record(MODEL_ID, **bad), *records(2)]
    payload = encode_log_batch(batch)
    with app.app_context():
        result = write_prediction_log_batch(payload)
        assert (result.received, result.inserted, result.quarantined) == (5, 4, 1)
        assert [bool(stored(record["prediction_id"])) for record in batch if record is not batch[2]] == [True] * 4
        [entry] = quarantined()
        assert (entry.row_count, entry.kind) == (1, "prediction_logs")
        assert entry.reason and entry.payload["count"] == 1 and entry.payload["batch_id"] == str(entry.batch_id)
        again = write_prediction_log_batch(payload)  # redelivered: the ledger skips it, nothing added
        assert (again.inserted, again.quarantined) == (0, 0)
        assert len(quarantined()) == 1


def test_one_poison_row_among_1000_costs_only_itself(app):
    batch = records(1000)
    batch[617] = log_record(MODEL_ID, user_id="9" * 400)
    with app.app_context():
        result = write_prediction_logs(batch)
        assert (result.inserted, result.quarantined) == (999, 1)
        [entry] = quarantined()
        assert "character varying(256)" in entry.reason
        assert batch[617]["prediction_id"] in entry.payload["rows"]
        assert db.session.scalar(select(func.count()).select_from(PredictionLog)) == 999


def test_a_batch_whose_every_row_is_refused_is_quarantined_row_by_row_once(app):
    payload = encode_log_batch(records(3, prediction="maybe"))
    with app.app_context():
        assert write_prediction_log_batch(payload).quarantined == 3
        assert write_prediction_log_batch(payload).quarantined == 3  # redelivered: each row's entry kept once
        assert len(quarantined()) == 3
        assert db.session.get(PredictionLogBatch, uuid.UUID(payload["batch_id"])) is None


def test_a_quarantined_batch_keeps_its_rows_for_a_replay(app):
    batch = [log_record(MODEL_ID, text="nul \x00 inside")]
    with app.app_context():
        write_prediction_logs(batch)
        [entry] = quarantined()
        assert batch[0]["prediction_id"] in entry.payload["rows"]


def test_an_envelope_that_says_more_rows_than_it_holds_stores_those_it_holds(app):
    batch = records(2)
    with app.app_context():
        result = write_prediction_log_batch({**encode_log_batch(batch), "count": 3})
        assert (result.received, result.inserted, result.quarantined) == (3, 2, 0)
        assert all(stored(record["prediction_id"]) for record in batch)


@pytest.mark.parametrize(
    "lie",
    [
        {"count": 0},
        {"format": 3},
        {"fields": list(reversed(LOG_FIELDS))},
        {"batch_id": "not-a-uuid"},
        {"rows": None},
    ],
)
def test_an_envelope_that_does_not_hold_what_it_says_is_quarantined(app, lie):
    batch = records(2)
    payload = {**encode_log_batch(batch), **lie}
    with app.app_context():
        result = write_prediction_log_batch(payload)
        assert result.inserted == 0 and result.quarantined >= 1
        assert not any(stored(record["prediction_id"]) for record in batch)
        assert len(quarantined()) == 1


def test_health_counts_quarantined_batches_and_rows(client, app):
    with app.app_context():
        write_prediction_logs([log_record(MODEL_ID, text="nul \x00 inside"), *records(2)])
    quarantine = client.get("/health").get_json()["components"]["prediction_logs"]["quarantine"]
    assert (quarantine["status"], quarantine["batches"], quarantine["rows"]) == ("ok", 1, 1)


# Format 1: JSON batches from web processes older than format 2 are no longer read.


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_a_format_1_batch_is_quarantined_whole_and_stores_nothing(app, as_bytes):
    record = log_record(MODEL_ID)
    payload = json.dumps({"fields": list(LOG_FIELDS), "rows": [[record[f] for f in LOG_FIELDS]]})
    with app.app_context():
        result = write_prediction_log_batch(payload.encode() if as_bytes else payload)
        assert (result.inserted, result.quarantined) == (0, 1)
        assert stored(record["prediction_id"]) is None
        [entry] = quarantined()
        assert entry.kind == "prediction_logs" and entry.reason.startswith("a format-1 batch: ")
        assert record["prediction_id"] in str(entry.payload)  # kept, to be read or replayed by hand
