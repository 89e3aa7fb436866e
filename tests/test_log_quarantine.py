"""Quarantined log batches: ops list them and ingest them again once what refused them is fixed."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from tests.records import log_record
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_log_batch
from webapp.models import PredictionLog, QuarantinedBatch

MODEL_ID = str(uuid.uuid4())


def stored_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(PredictionLog))


def quarantined_ids() -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(QuarantinedBatch.id)))


def test_ops_list_quarantined_batches_with_the_reason(app):
    runner = app.test_cli_runner()
    with app.app_context():
        write_prediction_logs([log_record(MODEL_ID, confidence=1.5), log_record(MODEL_ID)])
    listed = runner.invoke(args=["logs", "quarantine", "--json"])
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)
    assert entry["rows"] == 1 and "confidence" in entry["reason"]  # the refused row alone


def test_a_batch_refused_before_a_fix_is_stored_by_requeue_and_leaves_the_quarantine(app):
    batch = [log_record(MODEL_ID) for _ in range(3)]
    envelope = encode_log_batch(batch)
    with app.app_context():  # refused earlier, say by a constraint since corrected
        entry = QuarantinedBatch(
            batch_id=uuid.UUID(envelope["batch_id"]), kind="prediction_logs", reason="since fixed",
            row_count=3, payload=envelope,
        )  # fmt: skip
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    result = app.test_cli_runner().invoke(args=["logs", "requeue", str(entry_id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 3
    with app.app_context():
        assert stored_rows() == 3 and quarantined_ids() == []


def test_a_batch_still_refused_stays_in_quarantine_and_requeue_exits_1(app):
    with app.app_context():
        write_prediction_logs([log_record(MODEL_ID, prediction="maybe")])
        [entry_id] = quarantined_ids()
    result = app.test_cli_runner().invoke(args=["logs", "requeue", str(entry_id)])
    assert result.exit_code == 1 and "still refused" in result.output
    with app.app_context():
        assert quarantined_ids() == [entry_id] and stored_rows() == 0


def test_requeue_of_an_unknown_batch_exits_1(app):
    result = app.test_cli_runner().invoke(args=["logs", "requeue", "424242", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "not_found"


def test_a_refused_row_is_requeued_alone_once_what_refused_it_is_fixed(app):
    batch = [log_record(MODEL_ID), log_record(MODEL_ID, prediction="maybe"), log_record(MODEL_ID)]
    with app.app_context():
        write_prediction_logs(batch)
        [entry_id] = quarantined_ids()
        entry = db.session.get(QuarantinedBatch, entry_id)
        entry.payload = {**entry.payload, "rows": entry.payload["rows"].replace('"maybe"', '"neutral"')}  # the fix
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["logs", "requeue", str(entry_id), "--json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert stored_rows() == 3 and quarantined_ids() == []


def test_feedback_waiting_in_quarantine_is_not_requeued_as_prediction_logs(app):
    with app.app_context():
        entry = QuarantinedBatch(kind="feedback", reason="refused", row_count=1, payload=["not-a-uuid", "positive"])
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    result = app.test_cli_runner().invoke(args=["logs", "requeue", str(entry_id)])
    assert result.exit_code == 1 and "only prediction logs are requeued" in result.output
    with app.app_context():
        assert quarantined_ids() == [entry_id] and stored_rows() == 0
