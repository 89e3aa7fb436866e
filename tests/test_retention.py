"""Retention of the rows kept beside the prediction log, and purging the quarantine by hand.

Feedback (orphaned or counted), prediction errors and quarantined batches expire after
LOG_RETENTION_DAYS, by their own time, in the beat task that drops the log's day partitions
(`flask logs maintain` runs the same function). `flask logs purge-quarantine` empties the quarantine sooner.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from webapp.extensions import db
from webapp.failures.models import PredictionError
from webapp.feedback.models import Feedback
from webapp.models import QuarantinedBatch
from webapp.system.retention import expire_rows, maintain_logs, purge_quarantine

RETENTION_DAYS = 30
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=RETENTION_DAYS + 2)  # past the window, whole days included
RECENT = NOW - timedelta(days=RETENTION_DAYS - 2)
KINDS = ("orphaned_feedback", "feedback", "prediction_errors", "quarantined_batches")


def add_rows(kind: str, at: datetime, count: int = 1, **fields) -> list:
    """`count` rows of one kind, stamped `at`; returns their keys."""
    keys = []
    for _ in range(count):
        key = uuid.uuid4()
        if kind in ("feedback", "orphaned_feedback"):
            counted = None if kind == "orphaned_feedback" else uuid.uuid4()
            row = Feedback(prediction_id=key, label="positive", received_at=at, counted_model_id=counted)
        elif kind == "prediction_errors":
            row = PredictionError(
                error_id=key, model_id=uuid.uuid4(), model_version="1.0.0", routing="random", config_version=1,
                status=500, error_class="builtins.RuntimeError", created_at=at,
            )  # fmt: skip
        else:
            row = QuarantinedBatch(
                batch_id=key, kind=fields.get("batch_kind", "prediction_logs"), reason="test",
                row_count=fields.get("rows", 3), payload={"batch_id": str(key)}, quarantined_at=at,
            )  # fmt: skip
        db.session.add(row)
        db.session.flush()
        keys.append(key)
    db.session.commit()
    return keys


def kept(kind: str) -> set:
    db.session.expire_all()
    if kind == "orphaned_feedback":
        return set(db.session.scalars(select(Feedback.prediction_id).where(Feedback.counted_model_id.is_(None))))
    if kind == "feedback":
        return set(db.session.scalars(select(Feedback.prediction_id).where(Feedback.counted_model_id.is_not(None))))
    if kind == "prediction_errors":
        return set(db.session.scalars(select(PredictionError.error_id)))
    return set(db.session.scalars(select(QuarantinedBatch.batch_id)))


def test_the_maintenance_task_expires_old_rows_of_every_kind_and_keeps_recent_ones(app):
    with app.app_context():
        for kind in KINDS:
            add_rows(kind, OLD, 3)
        recent = {kind: add_rows(kind, RECENT, 2) for kind in KINDS}

        result = maintain_logs(ahead_days=2, retention_days=RETENTION_DAYS)  # what beat runs

        assert result.expired == dict.fromkeys(KINDS, 3)
        for kind in KINDS:
            assert kept(kind) == set(recent[kind]), kind
        assert maintain_logs(ahead_days=2, retention_days=RETENTION_DAYS).expired == dict.fromkeys(KINDS, 0)


def test_a_large_backlog_goes_in_chunks_to_the_last_row(app):
    with app.app_context():
        for kind in KINDS:
            add_rows(kind, OLD, 7)
        recent = {kind: add_rows(kind, RECENT, 1) for kind in KINDS}
        cutoff = NOW - timedelta(days=RETENTION_DAYS)
        assert expire_rows(cutoff, chunk_rows=3) == dict.fromkeys(KINDS, 7)  # 3 + 3 + 1: three transactions each
        for kind in KINDS:
            assert kept(kind) == set(recent[kind]), kind


def test_flask_logs_maintain_reports_the_expired_rows(app):
    with app.app_context():
        for kind in KINDS:
            add_rows(kind, OLD, 2)
    result = app.test_cli_runner().invoke(args=["logs", "maintain", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["expired"] == dict.fromkeys(KINDS, 2)
    text = app.test_cli_runner().invoke(args=["logs", "maintain"]).stdout
    assert "expired 0 prediction_errors rows older than" in text


def purge(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["logs", "purge-quarantine", *args])


def test_purge_quarantine_deletes_every_batch_and_says_how_many_batches_and_rows(app, caplog):
    with app.app_context():
        add_rows("quarantined_batches", OLD, 2, rows=5)
        add_rows("quarantined_batches", NOW, 1, rows=7)
    caplog.set_level(logging.WARNING, logger="webapp.cli.logs")
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "purged 3 quarantined batches (17 rows)"
    assert "purged 3 quarantined batches (17 rows), kind=any older_than_days=any, by cli:" in caplog.text
    with app.app_context():
        assert kept("quarantined_batches") == set()
    assert purge(app).stdout.strip() == "purged 0 quarantined batches (0 rows)"


def test_purge_quarantine_keeps_what_is_newer_or_of_another_kind(app):
    with app.app_context():
        old_logs = add_rows("quarantined_batches", NOW - timedelta(days=10), 2, rows=4)
        newer = add_rows("quarantined_batches", NOW - timedelta(days=2), 1, rows=4)
        old_feedback = add_rows("quarantined_batches", NOW - timedelta(days=10), 1, rows=9, batch_kind="feedback")
    result = purge(app, "--older-than", "7", "--kind", "prediction_logs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"batches": 2, "rows": 8, "kind": "prediction_logs", "older_than_days": 7}
    with app.app_context():
        assert kept("quarantined_batches") == {*newer, *old_feedback}
        assert not set(old_logs) & kept("quarantined_batches")


def test_a_large_quarantine_is_purged_in_chunks_to_the_last_batch(app):
    with app.app_context():
        add_rows("quarantined_batches", OLD, 7, rows=2)
        assert purge_quarantine(chunk_rows=3) == {"batches": 7, "rows": 14}
        assert kept("quarantined_batches") == set()


@pytest.mark.parametrize("days", ["-1", "seven"])
def test_purge_quarantine_refuses_a_bad_age_and_deletes_nothing(app, days):
    with app.app_context():
        batches = add_rows("quarantined_batches", OLD, 2)
    result = purge(app, "--older-than", days)
    assert result.exit_code == 2
    assert "Invalid value for '--older-than'" in result.output
    with app.app_context():
        assert kept("quarantined_batches") == set(batches)
