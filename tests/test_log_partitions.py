"""The prediction log stays bounded: day partitions made ahead, expired ones dropped, on the real Postgres.

Days here are in 2020, far behind the session's real partitions, so expiring them never touches
the partitions the other tests write into; each test drops what it made.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.records import log_record, refresh_settled, stored_totals
from webapp.experiments.models import ShadowPair
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.partitions import list_partitions, maintain_partitions, partition_name
from webapp.models import PredictionLog, PredictionLogBatch
from webapp.system.retention import maintain_logs

TODAY = date(2020, 3, 10)
MODEL_ID = str(uuid.uuid4())


@pytest.fixture
def app_with_partitions(app: Flask) -> Iterator[Flask]:
    """The app; the partitions a test makes are dropped after it."""
    yield from dropping_new_partitions(app)


def dropping_new_partitions(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        before = {partition.name for partition in list_partitions()}
    yield app
    with app.app_context():
        for partition in list_partitions():
            if partition.name not in before:
                db.session.execute(text(f"DROP TABLE {partition.name}"))
        db.session.commit()


def at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def log_on(*days: date) -> list[dict]:
    records = [log_record(MODEL_ID, created_at=at(day)) for day in days]
    write_prediction_logs(records)
    return records


def where_stored() -> dict[str, tuple[str, str]]:
    """prediction_id: (the partition holding the row, its txid)."""
    query = text("SELECT prediction_id::text, tableoid::regclass::text, txid::text FROM prediction_logs")
    return {row[0]: (row[1], row[2]) for row in db.session.execute(query)}


def day_partitions() -> set[date]:
    return {partition.day for partition in list_partitions() if partition.day is not None}


def test_partitions_are_made_from_yesterday_to_the_days_ahead_and_rows_land_in_their_day(app_with_partitions):
    with app_with_partitions.app_context():
        result = maintain_partitions(ahead_days=3, retention_days=30, today=TODAY)
        expected = [TODAY + timedelta(days=offset) for offset in range(-1, 4)]
        assert result.created == [partition_name(day) for day in expected]
        assert set(expected) <= day_partitions()
        records = log_on(TODAY + timedelta(days=2))
        assert where_stored()[records[0]["prediction_id"]][0] == "prediction_logs_p20200312"


def test_a_second_run_changes_nothing(app_with_partitions):
    with app_with_partitions.app_context():
        maintain_partitions(ahead_days=3, retention_days=30, today=TODAY)
        partitions = list_partitions()
        again = maintain_partitions(ahead_days=3, retention_days=30, today=TODAY)
        assert (again.created, again.dropped, again.moved_from_default, again.deleted_rows) == ([], [], 0, 0)
        assert [partition.name for partition in list_partitions()] == [partition.name for partition in partitions]


def test_two_runs_at_once_both_succeed_and_make_each_partition_once(app_with_partitions):
    start, results, errors = threading.Barrier(2), [], []

    def run() -> None:
        with app_with_partitions.app_context():
            start.wait()
            try:
                results.append(maintain_partitions(ahead_days=20, retention_days=30, today=TODAY))
            except Exception as exc:  # the assertion below names it
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    created = results[0].created + results[1].created
    assert sorted(created) == sorted(set(created)) and len(created) == 22


def test_rows_waiting_in_the_default_partition_move_into_their_day_when_it_is_made(app_with_partitions):
    with app_with_partitions.app_context():
        early = log_on(TODAY + timedelta(days=2), TODAY + timedelta(days=2))
        far_ahead = log_on(TODAY + timedelta(days=90))
        before = where_stored()
        assert {before[record["prediction_id"]][0] for record in early} == {"prediction_logs_default"}

        result = maintain_partitions(ahead_days=3, retention_days=30, today=TODAY)

        after = where_stored()
        assert result.moved_from_default == 2
        for record in early:
            partition, txid = after[record["prediction_id"]]
            assert (partition, txid) == ("prediction_logs_p20200312", before[record["prediction_id"]][1])
        assert after[far_ahead[0]["prediction_id"]][0] == "prediction_logs_default"
        assert len(after) == 3


def test_retention_drops_whole_old_days_keeps_newer_ones_and_keeps_the_statistics(app_with_partitions):
    with app_with_partitions.app_context():
        first = date(2020, 1, 1)
        maintain_partitions(ahead_days=7, retention_days=30, today=first)  # 2019-12-31 .. 2020-01-08
        kept_rows = log_on(date(2020, 1, 7), date(2020, 1, 20))  # a partition's day, and the default's
        log_on(date(2020, 1, 2), date(2020, 1, 3), date(2019, 6, 1))  # expired: two partitions', the default's
        refresh_settled()
        totals = stored_totals(MODEL_ID)

        result = maintain_partitions(ahead_days=7, retention_days=30, today=date(2020, 2, 5))

        assert result.retained_from == date(2020, 1, 6)
        assert result.dropped == [partition_name(first + timedelta(days=offset)) for offset in range(-1, 5)]
        assert result.deleted_rows == 1  # only the default partition's expired row is deleted
        days = day_partitions()
        assert {date(2020, 1, 6), date(2020, 1, 7), date(2020, 1, 8)} <= days
        assert not any(date(2019, 12, 31) <= day <= date(2020, 1, 5) for day in days)
        assert set(where_stored()) == {record["prediction_id"] for record in kept_rows}
        assert stored_totals(MODEL_ID) == totals and totals["request_count"] == 5


@pytest.mark.parametrize(
    "column, value",
    [
        ("prediction", "great"),
        ("routing", "sideways"),
        ("confidence", 1.5),
        ("polarity", -1.01),
        ("subjectivity", -0.1),
        ("latency_ms", -1),
        ("bucket", 100),
        ("slot", 10_000),
        ("text", ""),
        ("text", "x" * 5001),
        ("model_version", ""),
        ("user_id", ""),
        ("config_version", -1),
    ],
)
def test_the_database_refuses_a_row_the_batch_schema_would_refuse(app, column, value):
    row = {**log_record(MODEL_ID), "latency_bucket": 3, column: value}
    row = {**row, "prediction_id": uuid.UUID(row["prediction_id"]), "model_id": uuid.UUID(MODEL_ID)}
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    with app.app_context():
        with pytest.raises(IntegrityError, match="ck_prediction_logs_"):
            db.session.execute(PredictionLog.__table__.insert(), [row])
        db.session.rollback()


def test_health_counts_the_partitions_and_the_rows_in_the_default_one(app_with_partitions, client):
    with app_with_partitions.app_context():
        maintain_partitions(ahead_days=3, retention_days=30, today=TODAY)
        log_on(date(2019, 1, 1), date(2019, 1, 2))
        days = sorted(day_partitions())
    partitions = client.get("/health").get_json()["components"]["prediction_logs"]["partitions"]
    assert partitions["status"] == "ok"
    assert partitions["day_partitions"] == len(days)
    assert (partitions["oldest_day"], partitions["newest_day"]) == (days[0].isoformat(), days[-1].isoformat())
    assert (partitions["default_partition_rows"], partitions["default_partition_rows_capped"]) == (2, False)


def test_cli_lists_partitions_and_maintains_them(app_with_partitions):
    runner = app_with_partitions.test_cli_runner()
    maintained = runner.invoke(args=["logs", "maintain", "--json"])
    assert maintained.exit_code == 0, maintained.output
    assert json.loads(maintained.stdout)["retained_from"] == (datetime.now(UTC).date() - timedelta(30)).isoformat()
    listed = runner.invoke(args=["logs", "partitions", "--json"])
    assert listed.exit_code == 0, listed.output
    names = [partition["name"] for partition in json.loads(listed.stdout)]
    today = datetime.now(UTC).date()
    assert {partition_name(today + timedelta(days=offset)) for offset in range(-1, 8)} <= set(names)
    assert names[-1] == "prediction_logs_default"
    table = runner.invoke(args=["logs", "partitions"]).stdout
    assert partition_name(today) in table and "default" in table


def test_retention_forgets_ledger_entries_of_batches_whose_rows_it_dropped(app_with_partitions):
    with app_with_partitions.app_context():
        old, recent = uuid.uuid4(), uuid.uuid4()
        for batch_id, stored_at in (
            (old, datetime(2020, 1, 1, tzinfo=UTC)),
            (recent, datetime(2020, 2, 1, tzinfo=UTC)),
        ):
            db.session.add(PredictionLogBatch(batch_id=batch_id, row_count=1, stored_at=stored_at))
        db.session.commit()
        result = maintain_partitions(ahead_days=1, retention_days=30, today=date(2020, 2, 5))
        remaining = set(db.session.scalars(select(PredictionLogBatch.batch_id)))
    assert (result.forgotten_batches, remaining) == (1, {recent})


def test_retention_forgets_shadow_pairs_whose_shadow_rows_it_dropped(app_with_partitions):
    with app_with_partitions.app_context():
        old, recent = uuid.uuid4(), uuid.uuid4()
        for shadow_id, logged_at in (
            (old, datetime(2020, 1, 4, 23, tzinfo=UTC)),
            (recent, datetime(2020, 1, 6, tzinfo=UTC)),
        ):
            db.session.add(
                ShadowPair(
                    shadow_prediction_id=shadow_id,
                    shadow_created_at=logged_at,
                    shadow_model_id=uuid.uuid4(),
                    served_model_id=uuid.uuid4(),
                    shadow_label="positive",
                    served_label="negative",
                )
            )
        db.session.commit()
        result = maintain_logs(ahead_days=1, retention_days=30, today=date(2020, 2, 5))
        remaining = set(db.session.scalars(select(ShadowPair.shadow_prediction_id)))
        db.session.execute(text("DELETE FROM shadow_pairs"))
        db.session.commit()
    assert (result.forgotten_shadow_pairs, remaining) == (1, {recent})
