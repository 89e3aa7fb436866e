"""Migration 0005 turns an existing prediction log into the partitioned one without losing a row.

It runs against a database of its own (the test database's name plus `_conversion`), since it
migrates down and up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.apps import make_settings, shutdown
from tests.records import expected_totals, log_record, refresh_settled, stored_totals
from webapp import create_app
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.partitions import partition_name
from webapp.stats.refresh import rebuild_stats

BEFORE = "0004_batch_ledger"
MODEL_ID = str(uuid.uuid4())


@pytest.fixture
def conversion_app(postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of its own, not yet migrated."""
    url = make_url(postgres_url)
    name = f"{url.database}_conversion"
    admin = psycopg2.connect(url.set(database="postgres", drivername="postgresql").render_as_string(False))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    application = create_app(make_settings(tmp_path, DATABASE_URL=url.set(database=name).render_as_string(False)))
    with application.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
    yield application
    shutdown(application)


def stored_rows() -> dict[str, tuple[str, int, str]]:
    """prediction_id: (the table holding the row, its id, its txid)."""
    query = text("SELECT prediction_id::text, tableoid::regclass::text, id, txid::text FROM prediction_logs")
    return {row[0]: tuple(row[1:]) for row in db.session.execute(query)}


def spread_over_days(today: date) -> list[tuple[date, dict]]:
    days = [today - timedelta(days=offset) for offset in (41, 40, 12, 3, 1, 0)]
    return [
        (day, log_record(MODEL_ID, created_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()))
        for day in days
        for hour in (0, 13, 23)
    ]


def test_upgrade_keeps_every_row_in_its_days_partition_with_its_id_and_txid(conversion_app):
    today = datetime.now(UTC).date()
    with conversion_app.app_context():
        upgrade(revision=BEFORE)
        placed = spread_over_days(today)
        write_prediction_logs([record for _, record in placed])
        before = stored_rows()
        db.session.close()  # the migration waits for every reader of the table
        db.engine.dispose()  # the ingest's staging table names the old table's row type

        upgrade()

        after = stored_rows()
        assert len(after) == len(before) == len(placed)
        for day, record in placed:
            _, row_id, txid = before[record["prediction_id"]]
            assert after[record["prediction_id"]] == (partition_name(day), row_id, txid)
        # The stats refresh of this code needs the later revisions' tables: it runs on the converted log.
        refresh_settled()
        totals = stored_totals(MODEL_ID)
        assert totals == expected_totals([record for _, record in placed])
        rebuild_stats()
        assert stored_totals(MODEL_ID) == totals and totals["request_count"] == len(placed)

        newest = log_record(MODEL_ID)
        write_prediction_logs([newest])
        table, row_id, _ = stored_rows()[newest["prediction_id"]]
        assert table == partition_name(today) and row_id > max(row[1] for row in before.values())


def test_upgrade_makes_partitions_from_yesterday_to_a_week_ahead_and_a_default_one(conversion_app):
    today = datetime.now(UTC).date()
    with conversion_app.app_context():
        upgrade()
        query = text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'prediction_logs'::regclass"
        )
        names = set(db.session.execute(query).scalars())
    expected = {partition_name(today + timedelta(days=offset)) for offset in range(-1, 8)}
    assert names == expected | {"prediction_logs_default"}


def test_downgrade_gives_back_one_plain_table_with_every_row(conversion_app):
    with conversion_app.app_context():
        upgrade()
        placed = spread_over_days(datetime.now(UTC).date())
        write_prediction_logs([record for _, record in placed])
        before = {key: value[1:] for key, value in stored_rows().items()}
        db.session.close()
        db.engine.dispose()

        downgrade(revision=BEFORE)

        assert {key: value[1:] for key, value in stored_rows().items()} == before
        kind = db.session.execute(text("SELECT relkind FROM pg_class WHERE relname = 'prediction_logs'")).scalar()
        assert kind == "r"


def test_the_models_match_the_migrated_schema(conversion_app):
    with conversion_app.app_context():
        upgrade()
    checked = conversion_app.test_cli_runner().invoke(args=["db", "check"])
    assert checked.exit_code == 0, checked.output
