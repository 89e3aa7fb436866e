"""A shadow's agreement with the served version and its accuracy on the same requests, folded incrementally.

The shadow row, the served row and the feedback arrive in any order and in different refresh
windows; whatever the order, the totals are the same, exact, and equal a rebuild.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from tests.records import log_record, refresh_settled
from webapp.experiments.models import ShadowComparison, ShadowPair
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_feedback_batch
from webapp.stats.folds.shadows import FIRST_SHADOW_ROW
from webapp.stats.refresh import rebuild_stats, refresh_stats

SERVED, OTHER_SERVED, SHADOW = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
TOTALS = ("pairs", "agreements", "labelled_pairs", "shadow_correct", "served_correct",
          "shadow_only_correct", "served_only_correct")  # fmt: skip


def mirrored_pair(served_label: str, shadow_label: str, served_model: str = SERVED) -> tuple[dict, dict]:
    """A served prediction and the shadow prediction that mirrored it."""
    served = log_record(served_model, prediction=served_label, routing="sticky", user_id="u1")
    shadow = log_record(SHADOW, "2.0.0", prediction=shadow_label, routing="shadow", shadow_of=served["prediction_id"])
    return served, shadow


def send_feedback(prediction_id: str, label: str | None, reward: float | None = None, at: datetime | None = None):
    record = {"prediction_id": prediction_id, "label": label, "reward": reward,
              "received_at": (at or datetime.now(UTC)).isoformat()}  # fmt: skip
    write_feedback_batch(encode_feedback_batch([record]))


def totals(served_model: str = SERVED) -> dict[str, int] | None:
    db.session.expire_all()
    row = db.session.get(ShadowComparison, (uuid.UUID(SHADOW), uuid.UUID(served_model)))
    return None if row is None else {name: getattr(row, name) for name in TOTALS}


def counts(pairs, agreements, labelled=0, shadow_correct=0, served_correct=0, shadow_only=0, served_only=0):
    values = (pairs, agreements, labelled, shadow_correct, served_correct, shadow_only, served_only)
    return dict(zip(TOTALS, values, strict=True))


# (served label, shadow label, true label or None); hand-counted below.
CASES_WITH_SERVED = [
    ("positive", "positive", "positive"),  # agree, both right
    ("positive", "positive", "negative"),  # agree, both wrong
    ("positive", "negative", "negative"),  # shadow only right
    ("negative", "positive", "negative"),  # served only right
    ("negative", "negative", None),  # agree, a reward but no label
    ("neutral", "positive", "positive"),  # shadow only right
    ("positive", "neutral", None),  # disagree, no feedback at all
    ("negative", "negative", "negative"),  # agree, both right
]
CASES_WITH_OTHER_SERVED = [("positive", "negative", "positive"), ("negative", "negative", None)]


def test_agreement_and_paired_accuracy_equal_hand_counted_values_per_served_version(app):
    logs = []
    with app.app_context():
        for served_model, cases in ((SERVED, CASES_WITH_SERVED), (OTHER_SERVED, CASES_WITH_OTHER_SERVED)):
            for served_label, shadow_label, true_label in cases:
                served, shadow = mirrored_pair(served_label, shadow_label, served_model)
                logs += [served, shadow]
                if true_label is not None:
                    send_feedback(served["prediction_id"], true_label)
                elif served_label == "negative":
                    send_feedback(served["prediction_id"], None, reward=1.0)
        never_stored = mirrored_pair("positive", "positive")[1]  # its served row never arrives
        write_prediction_logs([*logs, never_stored])
        refresh_settled()
        assert totals(SERVED) == counts(8, 4, labelled=6, shadow_correct=4, served_correct=3, shadow_only=2,
                                        served_only=1)  # fmt: skip
        assert totals(OTHER_SERVED) == counts(2, 1, labelled=1, served_correct=1, served_only=1)


ORDERS = list(itertools.permutations(("shadow", "served", "feedback")))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(order) for order in ORDERS])
def test_the_totals_do_not_depend_on_the_order_rows_and_feedback_arrive_in(app, order):
    served, shadow = mirrored_pair("positive", "negative")
    arrive = {
        "shadow": lambda: write_prediction_logs([shadow]),
        "served": lambda: write_prediction_logs([served]),
        "feedback": lambda: send_feedback(served["prediction_id"], "negative"),
    }
    with app.app_context():
        for step in order:
            arrive[step]()
            refresh_settled()  # each arrival in a refresh window of its own
        assert totals() == counts(1, 0, labelled=1, shadow_correct=1, shadow_only=1)
        refresh_settled()
        assert totals() == counts(1, 0, labelled=1, shadow_correct=1, shadow_only=1)  # rerunning adds nothing


def test_everything_arriving_in_one_window_counts_once(app):
    served, shadow = mirrored_pair("neutral", "neutral")
    with app.app_context():
        send_feedback(served["prediction_id"], "neutral")
        write_prediction_logs([shadow])
        write_prediction_logs([served])
        refresh_settled()
        assert totals() == counts(1, 1, labelled=1, shadow_correct=1, served_correct=1)


def test_a_replaced_feedback_replaces_the_pairs_counted_label_and_the_latest_wins(app):
    served, shadow = mirrored_pair("positive", "negative")
    now = datetime.now(UTC)
    with app.app_context():
        write_prediction_logs([served, shadow])
        send_feedback(served["prediction_id"], "positive", at=now)
        refresh_settled()
        assert totals() == counts(1, 0, labelled=1, served_correct=1, served_only=1)
        send_feedback(served["prediction_id"], "negative", at=now + timedelta(seconds=1))
        send_feedback(served["prediction_id"], "neutral", at=now - timedelta(seconds=1))  # older: ignored
        refresh_settled()
        assert totals() == counts(1, 0, labelled=1, shadow_correct=1, shadow_only=1)
        send_feedback(served["prediction_id"], None, reward=0.5, at=now + timedelta(seconds=2))  # no label any more
        refresh_settled()
        assert totals() == counts(1, 0)


def test_a_served_row_that_commits_late_is_paired_by_the_next_refresh(app, postgres_url):
    served, shadow = mirrored_pair("negative", "negative")
    with app.app_context():
        write_prediction_logs([shadow])
        send_feedback(served["prediction_id"], "negative")
        refresh_settled()
    connection = psycopg2.connect(postgres_url)  # the served row's batch still open while a refresh runs
    connection.cursor().execute(
        "INSERT INTO prediction_logs (prediction_id, model_id, model_version, text, prediction, confidence, "
        "polarity, subjectivity, latency_ms, latency_bucket, routing, created_at) "
        "VALUES (%s, %s, '1.0.0', 'fine', 'negative', 0.5, 0, 0, 0.3, 1, 'sticky', now())",
        (served["prediction_id"], SERVED),
    )
    with app.app_context():
        refresh_stats()
        assert totals() is None
        connection.commit()
        connection.close()
        refresh_settled()
        assert totals() == counts(1, 1, labelled=1, shadow_correct=1, served_correct=1)


def test_a_rebuild_equals_the_incremental_totals(app):
    labels = ("positive", "negative", "neutral")
    pairs = [mirrored_pair(labels[n % 3], labels[n * 7 % 3]) for n in range(30)]
    with app.app_context():
        write_prediction_logs([shadow for _, shadow in pairs[:20]])
        for n, (served, _) in enumerate(pairs):
            send_feedback(served["prediction_id"], labels[n * 5 % 3])
        refresh_settled()
        write_prediction_logs([served for served, _ in pairs] + [shadow for _, shadow in pairs[20:]])
        refresh_settled()
        incremental = totals()
        rebuild_stats()
        refresh_settled()
        assert totals() == incremental
        assert incremental["pairs"] == 30
        assert db.session.scalar(select(ShadowComparison.labelled_pairs)) == 30


def test_looking_for_a_shadow_row_walks_the_partial_index_even_before_statistics_exist(app):
    """Without shadows the fold stops at once; that check must not scan a day of served rows."""
    model = str(uuid.uuid4())
    with app.app_context():
        for _ in range(30):
            write_prediction_logs([log_record(model) for _ in range(1000)])
        statement = FIRST_SHADOW_ROW.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.execute(text(f"EXPLAIN {statement}")).scalars())
        db.session.rollback()
    assert "Seq Scan" not in plan and "shadow_of_idx" in plan, plan


def test_a_counted_pair_remembers_its_shadow_rows_log_time_for_retention(app):
    served, shadow = mirrored_pair("positive", "negative")
    shadow["created_at"] = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC).isoformat()
    with app.app_context():
        write_prediction_logs([served, shadow])
        refresh_settled()
        send_feedback(served["prediction_id"], "negative")
        refresh_settled()  # the pair is updated, not re-inserted: its time stays
        pair = db.session.get(ShadowPair, uuid.UUID(shadow["prediction_id"]))
        assert pair.shadow_created_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        assert pair.true_label == "negative"
