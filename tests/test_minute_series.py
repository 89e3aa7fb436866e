"""The per-minute series: folded incrementally by the stats refresh, equal to a recompute, read per hour."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.api import register
from tests.records import log_record, refresh_settled
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.models import PredictionMinute
from webapp.stats.refresh import rebuild_stats


def this_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def records_over_the_last_hour(model_id: str, count: int, seed: int) -> list[dict]:
    """Records at random seconds of the last 60 minutes."""
    rng = random.Random(seed)
    start = this_minute() - timedelta(minutes=59)
    return [
        log_record(model_id, created_at=(start + timedelta(seconds=rng.uniform(0, 3599))).isoformat())
        for _ in range(count)
    ]


def per_minute(records: list[dict]) -> Counter:
    """The expected cells, counted in Python: (model_id, minute) -> predictions."""
    return Counter(
        (uuid.UUID(r["model_id"]), datetime.fromisoformat(r["created_at"]).replace(second=0, microsecond=0))
        for r in records
    )


def stored_cells() -> Counter:
    return Counter({(row.model_id, row.minute): row.count for row in db.session.scalars(select(PredictionMinute))})


def test_incremental_series_equals_the_known_counts_and_a_recompute(app):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    batches = [records_over_the_last_hour(model, 300, seed) for seed, model in enumerate([first, second, first])]
    with app.app_context():
        for batch in batches:  # each refresh adds to minutes an earlier one already wrote
            write_prediction_logs(batch)
            refresh_settled()
        incremental = stored_cells()
        assert incremental == per_minute([r for batch in batches for r in batch])
        rebuild_stats()
        refresh_settled()  # another run's open transaction may hold the window back
        assert stored_cells() == incremental


def test_a_refresh_with_no_new_rows_changes_no_minute(app):
    records = records_over_the_last_hour(str(uuid.uuid4()), 100, seed=7)
    with app.app_context():
        write_prediction_logs(records)
        refresh_settled()
        refresh_settled()
        assert stored_cells() == per_minute(records)


def test_minutes_older_than_the_retention_are_dropped(app):
    model_id = str(uuid.uuid4())
    old = log_record(model_id, created_at=(datetime.now(UTC) - timedelta(days=8)).isoformat())
    recent = log_record(model_id)
    with app.app_context():
        write_prediction_logs([old, recent])
        refresh_settled()
        assert stored_cells() == per_minute([recent])


def test_timeseries_endpoint_answers_known_counts_with_zeros_filled(app):
    client = app.test_client()
    one = register(client, "sentiment", "1.0.0")
    two = register(client, "sentiment", "2.0.0")
    other = register(client, "other", "1.0.0")
    if datetime.now(UTC).second >= 50:  # keep the request in the same minute as the records
        time.sleep(61 - datetime.now(UTC).second)
    now = this_minute()
    at = [now - timedelta(minutes=m, seconds=-s) for m, s in ((0, 5), (0, 50), (3, 1), (59, 0), (60, 0))]
    records = [log_record(one["model_id"], created_at=t.isoformat()) for t in at]  # the 60-minute-old one falls out
    records += [log_record(two["model_id"], "2.0.0", created_at=now.isoformat()), log_record(other["model_id"])]
    with app.app_context():
        write_prediction_logs(records)
        refresh_settled()
    body = client.get("/models/stats/timeseries?model=sentiment&minutes=60").get_json()
    assert len(body["minutes"]) == 60
    assert datetime.fromisoformat(body["minutes"][-1]) == now
    assert datetime.fromisoformat(body["minutes"][0]) == now - timedelta(minutes=59)
    series = {s["model_version"]: s["counts"] for s in body["series"]}
    assert set(series) == {"1.0.0", "2.0.0"}
    assert (series["1.0.0"][-1], series["1.0.0"][-4], series["1.0.0"][0], sum(series["1.0.0"])) == (2, 1, 1, 4)
    assert (series["2.0.0"][-1], sum(series["2.0.0"])) == (1, 1)


@pytest.mark.parametrize("query", ["minutes=0", "minutes=1441", "minutes=x", "model=Not%20A%20Name"])
def test_timeseries_rejects_a_bad_query_with_a_json_error(client, query):
    response = client.get(f"/models/stats/timeseries?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"]
