"""Feedback storage and the outcome metrics the stats refresh folds from it, incrementally and exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg2
from psycopg2.extras import execute_values
from sqlalchemy import select

from tests.records import log_record, refresh_settled
from webapp.experiments.models import AllocationCount, AllocationUser, ConfusionCell, OutcomeStats
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.feedback.models import Feedback
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_feedback_batch
from webapp.stats.folds.outcomes import orphaned_feedback
from webapp.stats.refresh import rebuild_stats, refresh_stats

MODEL = str(uuid.uuid4())


def feedback(prediction_id: str, label: str | None = None, reward: float | None = None, at: datetime | None = None):
    at = at or datetime.now(UTC)
    return {"prediction_id": prediction_id, "label": label, "reward": reward, "received_at": at.isoformat()}


def send(*records: dict):
    return write_feedback_batch(encode_feedback_batch(list(records)))


def outcome(model_id: str = MODEL) -> OutcomeStats | None:
    db.session.expire_all()
    return db.session.get(OutcomeStats, uuid.UUID(model_id))


def confusion(model_id: str = MODEL) -> dict[tuple[str, str], int]:
    cells = db.session.scalars(select(ConfusionCell).where(ConfusionCell.model_id == uuid.UUID(model_id)))
    return {(cell.true_label, cell.predicted_label): cell.count for cell in cells if cell.count}


def test_feedback_is_stored_and_a_second_one_replaces_the_first(app):
    prediction_id = str(uuid.uuid4())
    with app.app_context():
        send(feedback(prediction_id, "positive"))
        send(feedback(prediction_id, "negative", 0.5))
        row = db.session.get(Feedback, uuid.UUID(prediction_id))
        assert (row.label, row.reward) == ("negative", 0.5)


def test_a_redelivered_older_feedback_does_not_undo_a_newer_one(app):
    prediction_id, now = str(uuid.uuid4()), datetime.now(UTC)
    with app.app_context():
        send(feedback(prediction_id, "negative", at=now))
        send(feedback(prediction_id, "positive", at=now - timedelta(seconds=5)))
        assert db.session.get(Feedback, uuid.UUID(prediction_id)).label == "negative"


def test_a_malformed_feedback_row_is_rejected_and_the_rest_of_its_batch_stored(app):
    good = [feedback(str(uuid.uuid4()), "positive") for _ in range(3)]
    bad = [feedback("not-a-uuid", "positive"), feedback(str(uuid.uuid4()), "meh"), feedback(str(uuid.uuid4()))]
    with app.app_context():
        result = send(good[0], *bad, *good[1:])
        assert (result.received, result.inserted, result.rejected) == (6, 3, 3)
        assert db.session.get(Feedback, uuid.UUID(good[2]["prediction_id"])) is not None


def test_feedback_counts_whether_it_arrives_before_or_after_its_prediction_log(app):
    early, late = log_record(MODEL, prediction="positive"), log_record(MODEL, prediction="negative")
    with app.app_context():
        send(feedback(early["prediction_id"], "positive"))  # before its log
        refresh_settled()
        assert outcome() is None  # nothing to join yet
        write_prediction_logs([early, late])
        refresh_settled()
        send(feedback(late["prediction_id"], "positive"))  # after its log was counted
        refresh_settled()
        stats = outcome()
        assert (stats.feedback_count, stats.labelled_count, stats.correct_count) == (2, 2, 1)
        assert confusion() == {("positive", "positive"): 1, ("positive", "negative"): 1}


def test_a_replaced_feedback_replaces_its_counted_contribution(app):
    log = log_record(MODEL, prediction="positive")
    with app.app_context():
        write_prediction_logs([log])
        send(feedback(log["prediction_id"], "positive", 1.0))
        refresh_settled()
        assert (outcome().labelled_count, outcome().correct_count, outcome().reward_sum) == (1, 1, Decimal(1))
        send(feedback(log["prediction_id"], "neutral", 0.25))
        refresh_settled()
        stats = outcome()
        assert (stats.feedback_count, stats.labelled_count, stats.correct_count) == (1, 1, 0)
        assert (stats.reward_count, stats.reward_sum, stats.reward_sum_squares) == (
            1,
            Decimal("0.25"),
            Decimal("0.0625"),
        )
        assert confusion() == {("neutral", "positive"): 1}


def test_refreshing_again_changes_nothing_and_a_rebuild_equals_the_incremental_totals(app):
    logs = [log_record(MODEL, prediction=("positive", "negative")[i % 2]) for i in range(40)]
    labels = ("positive", "negative", "neutral")
    with app.app_context():
        write_prediction_logs(logs[:20])
        send(*(feedback(log["prediction_id"], labels[i % 3], round(i / 40, 4)) for i, log in enumerate(logs)))
        refresh_settled()
        write_prediction_logs(logs[20:])
        refresh_settled()
        refresh_settled()
        incremental = _snapshot()
        rebuild_stats()
        refresh_settled()
        assert _snapshot() == incremental
        assert incremental[0][:3] == (
            40,
            40,
            sum(1 for i, log in enumerate(logs) if labels[i % 3] == log["prediction"]),
        )


def test_feedback_that_commits_late_is_counted_by_the_next_refresh(app, postgres_url):
    log = log_record(MODEL, prediction="negative")
    with app.app_context():
        write_prediction_logs([log])
        refresh_settled()
    connection = psycopg2.connect(postgres_url)  # a feedback write still open while a refresh runs
    execute_values(
        connection.cursor(),
        "INSERT INTO feedback (prediction_id, label, received_at, revision) VALUES %s",
        [(log["prediction_id"], "negative", datetime.now(UTC), 0)],
    )
    with app.app_context():
        refresh_stats()
        assert outcome() is None
        connection.commit()
        connection.close()
        refresh_settled()
        assert (outcome().labelled_count, outcome().correct_count) == (1, 1)


def test_feedback_without_its_prediction_is_orphaned_after_the_grace_period(app):
    old, new = datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC)
    with app.app_context():
        send(feedback(str(uuid.uuid4()), "positive", at=old), feedback(str(uuid.uuid4()), "negative", at=new))
        refresh_settled()
        assert orphaned_feedback(3600) == {"orphaned": 1, "waiting_for_prediction": 1, "grace_seconds": 3600}
    health = app.test_client().get("/health").get_json()
    assert health["components"]["feedback"]["orphaned"] == 1


def test_routed_predictions_are_counted_per_config_version_and_sticky_users_once(app):
    records = [
        log_record(MODEL, routing="sticky", user_id="ann", bucket=3, config_version=7),
        log_record(MODEL, routing="sticky", user_id="ann", bucket=3, config_version=7),
        log_record(MODEL, routing="sticky", user_id="bob", bucket=9, config_version=8),
        log_record(MODEL, routing="random", config_version=8),
        log_record(MODEL, routing="explicit", config_version=8),
    ]
    with app.app_context():
        write_prediction_logs(records)
        refresh_settled()
        counts = {
            row.config_version: (row.sticky_count, row.random_count)
            for row in db.session.scalars(select(AllocationCount))
        }
        assert counts == {7: (2, 0), 8: (1, 1)}
        users = {(row.config_version, row.user_id) for row in db.session.scalars(select(AllocationUser))}
        assert users == {(7, "ann"), (8, "bob")}


def _snapshot():
    stats = outcome()
    return (
        (stats.feedback_count, stats.labelled_count, stats.correct_count, stats.reward_count, stats.reward_sum,
         stats.reward_sum_squares),
        confusion(),
    )  # fmt: skip
