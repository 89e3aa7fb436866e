"""POST /feedback: one record or up to 1,000, answered 202 from the buffer; bad input changes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from tests.apps import make_settings, reset_state, shutdown
from tests.test_errors import error_of
from webapp import create_app
from webapp.extensions import db
from webapp.feedback.models import Feedback
from webapp.feedback.schemas import FeedbackRecord
from webapp.feedback.service import submit_feedback
from webapp.logpipe.batches import csv_rows
from webapp.logpipe.wire import FEEDBACK_FIELDS
from webapp.system.health import check_components

# Neither the interval nor the batch size triggers a shipment while a test runs.
HOLD_BUFFER = {"LOG_FLUSH_SECONDS": 3600, "LOG_BATCH_SIZE": 10_000}


def buffered(app) -> int:
    return app.extensions["feedback_buffer"].status()["buffered"]


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Feedback))


def record(**fields) -> dict:
    return {"prediction_id": str(uuid.uuid4()), "label": "positive", **fields}


@pytest.fixture
def feedback_app(postgres_url, redis_url, tmp_path):
    """An app whose feedback buffer never ships during the test: what it holds is what the request queued."""
    app = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, **HOLD_BUFFER))
    reset_state(app)
    yield app
    app.extensions["feedback_buffer"]._records.clear()  # never ship test records to the shared broker
    shutdown(app)


def test_one_record_is_accepted_with_202_and_buffered_not_written(feedback_app):
    response = feedback_app.test_client().post("/feedback", json=record(reward=1))
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1, "rejected": 0}
    assert buffered(feedback_app) == 1
    assert stored(feedback_app) == 0  # no database write on the request path


def test_a_list_of_1000_records_over_64_kb_is_accepted(feedback_app):
    body = json.dumps([record(label="negative", reward=0.25) for _ in range(1000)])
    assert len(body) > 64 * 1024
    response = feedback_app.test_client().post("/feedback", data=body, content_type="application/json")
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"accepted": 1000, "rejected": 0}
    assert buffered(feedback_app) == 1000


def test_a_reward_alone_is_feedback(feedback_app):
    response = feedback_app.test_client().post("/feedback", json={"prediction_id": str(uuid.uuid4()), "reward": 0})
    assert response.status_code == 202


def test_a_later_record_for_the_same_prediction_replaces_an_earlier_one_in_the_same_request():
    sink: list[dict] = []
    prediction_id = str(uuid.uuid4())
    records = [FeedbackRecord(prediction_id=prediction_id, label=label) for label in ("positive", "negative")]
    result = submit_feedback(records, sink)
    assert (result.accepted, result.rejected) == (1, 1)
    assert [(entry["prediction_id"], entry["label"]) for entry in sink] == [(prediction_id, "negative")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (record(label="happy"), "0.label"),
        (record(prediction_id="42"), "0.prediction_id"),
        ({"prediction_id": str(uuid.uuid4())}, "0"),
        (record(reward=1.5), "0.reward"),
        (record(reward="1"), "0.reward"),
        (record(extra=True), "0.extra"),
        ([], None),
        ([record() for _ in range(1001)], None),
        ([record(), record(label="maybe")], "1.label"),
        ("positive", None),
    ],
)
def test_bad_feedback_is_422_and_nothing_is_queued(feedback_app, body, field):
    text = json.dumps(body)
    error = error_of(feedback_app.test_client().post("/feedback", data=text, content_type="application/json"), 422)
    assert error["code"] == "validation_error"
    if field is not None:
        assert field in {detail["field"] for detail in error["details"]}
    assert buffered(feedback_app) == 0


def test_malformed_feedback_json_is_400_and_nothing_is_queued(feedback_app):
    response = feedback_app.test_client().post("/feedback", data='[{"prediction_id": ', content_type="application/json")
    assert error_of(response, 400)["code"] == "malformed_json"
    assert buffered(feedback_app) == 0


def test_feedback_has_its_own_body_limit_and_other_endpoints_keep_64_kb(feedback_app):
    client = feedback_app.test_client()
    huge = json.dumps([record() for _ in range(4000)])  # about 300 KB
    assert error_of(client.post("/feedback", data=huge, content_type="application/json"), 413)["code"] == (
        "payload_too_large"
    )
    over_64_kb = json.dumps({"text": "x" * (65 * 1024)})
    assert error_of(client.post("/predict", data=over_64_kb, content_type="application/json"), 413)["code"] == (
        "payload_too_large"
    )
    assert buffered(feedback_app) == 0


def test_feedback_takes_a_predict_key_and_refuses_a_read_key(postgres_url, redis_url, tmp_path):
    app = create_app(
        make_settings(
            tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, **HOLD_BUFFER,
            PREDICT_API_KEYS="predict-key", READ_API_KEYS="read-key", ADMIN_API_KEYS="admin-key",
        )
    )  # fmt: skip
    client = app.test_client()
    try:
        assert client.post("/feedback", json=record()).status_code == 401
        assert client.post("/feedback", json=record(), headers={"X-API-Key": "read-key"}).status_code == 403
        assert buffered(app) == 0
        assert client.post("/feedback", json=record(), headers={"X-API-Key": "predict-key"}).status_code == 202
        assert client.post("/feedback", json=record(), headers={"X-API-Key": "admin-key"}).status_code == 202
    finally:
        app.extensions["feedback_buffer"]._records.clear()
        shutdown(app)


def test_while_the_broker_is_down_feedback_waits_in_its_own_spool(postgres_url, redis_url, tmp_path):
    dead_broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "BROKER_TIMEOUT_SECONDS": 0.1}
    app = create_app(
        make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, **HOLD_BUFFER, **dead_broker)
    )
    try:
        with app.app_context():
            before = check_components(app)
        sent = record(label="neutral")
        assert app.test_client().post("/feedback", json=sent).status_code == 202
        app.extensions["feedback_buffer"].flush()
        spool = app.extensions["spool_dir"] / "feedback"  # this database's spool (SPOOL_DIR/<database>/feedback)
        [spool_file] = spool.glob("*.jsonl")
        spooled_batch = json.loads(spool_file.read_text())["payload"]  # the envelope every stream sends
        assert spooled_batch["fields"] == list(FEEDBACK_FIELDS) and spooled_batch["count"] == 1
        assert csv_rows(spooled_batch["rows"])[0][0] == sent["prediction_id"]
        with app.app_context():
            after = check_components(app)

        def spooled(stream: str) -> int:  # Prometheus' counts: what this test added is the growth
            return after[stream]["all_processes"]["spooled"] - before[stream]["all_processes"]["spooled"]

        assert (spooled("feedback"), spooled("prediction_logs")) == (1, 0)
        # This process's own count, read from Prometheus as well.
        assert after["feedback"]["this_process"]["spooled"] - before["feedback"]["this_process"]["spooled"] == 1
    finally:
        for path in (app.extensions["spool_dir"] / "feedback").glob("*.jsonl"):
            path.unlink()  # never re-published to a shared broker
        shutdown(app)
