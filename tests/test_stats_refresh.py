"""The stats refresh: incremental, exact, and never skipping a row that commits late."""

from __future__ import annotations

import math
import uuid
from collections import Counter

import psycopg2
from psycopg2.extras import execute_values
from sqlalchemy import select

from tests.api import activate, register
from tests.records import expected_totals, log_record, random_records, stored_totals
from webapp.extensions import db
from webapp.latency import RELATIVE_ERROR, latency_bucket
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import STORED_LOG_FIELDS as COLUMNS
from webapp.models import LatencyHistogram, ModelStats, StatsCursor
from webapp.stats.refresh import refresh_stats


def test_refresh_materializes_exact_totals(app):
    records = random_records(str(uuid.uuid4()), 2_000, seed=1)
    with app.app_context():
        write_prediction_logs(records)
        result = refresh_stats()
        assert (result.rows, result.versions) == (2_000, 1)
        assert stored_totals(records[0]["model_id"]) == expected_totals(records)


def test_refresh_adds_only_rows_committed_since_the_last_one(app):
    model_id = str(uuid.uuid4())
    first, second = random_records(model_id, 500, seed=2), random_records(model_id, 300, seed=3)
    with app.app_context():
        write_prediction_logs(first)
        refresh_stats()
        write_prediction_logs(second)
        assert refresh_stats().rows == 300
        assert refresh_stats().rows == 0
        assert stored_totals(model_id) == expected_totals(first + second)
        assert db.session.get(StatsCursor, 1).rows_last_refresh == 0


def test_redelivered_batch_is_stored_and_counted_once(app):
    records = random_records(str(uuid.uuid4()), 100, seed=4)
    with app.app_context():
        assert write_prediction_logs(records).inserted == 100
        result = write_prediction_logs(records)
        assert (result.inserted, result.duplicates) == (0, 100)
        refresh_stats()
        assert stored_totals(records[0]["model_id"])["request_count"] == 100


def _insert_in_open_transaction(url: str, records: list[dict]) -> psycopg2.extensions.connection:
    """Insert rows in a transaction left open: its id is older than anything committed after it."""
    connection = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
    with connection.cursor() as cursor:
        rows = [
            tuple(latency_bucket(r["latency_ms"]) if c == "latency_bucket" else r[c] for c in COLUMNS) for r in records
        ]
        execute_values(cursor, f"INSERT INTO prediction_logs ({', '.join(COLUMNS)}) VALUES %s", rows)
    return connection


def test_a_batch_that_commits_late_is_counted_not_skipped(app, postgres_url):
    model_id = str(uuid.uuid4())
    early_but_slow, later_and_quick = random_records(model_id, 50, seed=5), random_records(model_id, 70, seed=6)
    slow = _insert_in_open_transaction(postgres_url, early_but_slow)
    try:
        with app.app_context():
            write_prediction_logs(later_and_quick)  # commits while the slow batch is still open
            refresh_stats()
            slow.commit()
            refresh_stats()
            assert stored_totals(model_id) == expected_totals(early_but_slow + later_and_quick)
    finally:
        slow.close()


def test_percentiles_are_within_the_stated_error_of_the_exact_ones(app):
    records = random_records(str(uuid.uuid4()), 5_000, seed=8)
    latencies = sorted(r["latency_ms"] for r in records)
    with app.app_context():
        write_prediction_logs(records)
        refresh_stats()
        stats = db.session.get(ModelStats, uuid.UUID(records[0]["model_id"]))
        for quantile, reported in ((0.50, stats.p50_latency), (0.95, stats.p95_latency), (0.99, stats.p99_latency)):
            exact = latencies[math.ceil(quantile * len(latencies)) - 1]
            assert abs(reported - exact) / exact <= RELATIVE_ERROR + 1e-9, (quantile, reported, exact)


def test_latency_histogram_adds_each_refresh_to_the_counts_before_it(app):
    model_id = str(uuid.uuid4())
    first, second = random_records(model_id, 1_000, seed=9), random_records(model_id, 700, seed=10)
    for record in second:
        record["latency_ms"] = round(record["latency_ms"] * 10, 4)  # slower: the second refresh moves p99
    with app.app_context():
        write_prediction_logs(first)
        refresh_stats()
        write_prediction_logs(second)
        refresh_stats()
        histogram = select(LatencyHistogram.bucket, LatencyHistogram.count)
        stored = db.session.execute(histogram.where(LatencyHistogram.model_id == uuid.UUID(model_id))).all()
        assert dict(stored) == Counter(latency_bucket(r["latency_ms"]) for r in first + second)
        latencies = sorted(r["latency_ms"] for r in first + second)
        exact_p99 = latencies[math.ceil(0.99 * len(latencies)) - 1]
        reported = db.session.get(ModelStats, uuid.UUID(model_id)).p99_latency
        assert abs(reported - exact_p99) / exact_p99 <= RELATIVE_ERROR + 1e-9


def test_stats_endpoint_lists_every_version_with_its_numbers(app, client):
    v1 = register(client)["model_id"]
    register(client, version="2.0.0")
    activate(client, v1, 100)
    records = [log_record(v1, latency_ms=0.2, confidence=0.7), log_record(v1, latency_ms=0.4, confidence=0.9)]
    with app.app_context():
        write_prediction_logs(records)
        refresh_stats()
    entries = {entry["model_version"]: entry for entry in client.get("/models/stats").get_json()}
    assert set(entries) == {"1.0.0", "2.0.0"}
    first = entries["1.0.0"]
    assert (first["model_id"], first["model_name"], first["request_count"]) == (v1, "sentiment", 2)
    assert (first["avg_latency"], first["avg_confidence"]) == (0.3, 0.8)
    assert first["prediction_counts"] == {"positive": 2, "negative": 0, "neutral": 0}
    assert first["refreshed_at"] and first["p50_latency"] and first["last_prediction_at"]
    assert entries["2.0.0"]["request_count"] == 0 and entries["2.0.0"]["avg_latency"] is None


def test_archived_versions_keep_their_statistics(app, client):
    v1 = register(client)["model_id"]
    with app.app_context():
        write_prediction_logs([log_record(v1)])
        refresh_stats()
    client.delete(f"/models/{v1}", json={})
    [entry] = client.get("/models/stats").get_json()
    assert (entry["status"], entry["request_count"]) == ("archived", 1)


def test_performance_waits_for_30_predictions_per_version_then_names_the_better(app, client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 50)
    activate(client, v2, 50)
    with app.app_context():
        write_prediction_logs([log_record(v1, confidence=0.7) for _ in range(30)])
        write_prediction_logs([log_record(v2, "2.0.0", confidence=0.9) for _ in range(29)])
        refresh_stats()
    body = client.get("/models/performance").get_json()
    assert body["total_requests"] == 59 and body["recommendation"] is None
    assert "30" in body["recommendation_note"]
    with app.app_context():
        write_prediction_logs([log_record(v2, "2.0.0", confidence=0.9)])
        refresh_stats()
    body = client.get("/models/performance").get_json()
    assert body["recommendation"]["model_version"] == "2.0.0"
    assert "0.9" in body["recommendation"]["reason"] and "0.7" in body["recommendation"]["reason"]


def test_performance_breaks_a_confidence_tie_by_latency(app, client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 50)
    activate(client, v2, 50)
    with app.app_context():
        write_prediction_logs([log_record(v1, confidence=0.8, latency_ms=0.5) for _ in range(30)])
        write_prediction_logs([log_record(v2, "2.0.0", confidence=0.805, latency_ms=0.9) for _ in range(30)])
        refresh_stats()
    assert client.get("/models/performance").get_json()["recommendation"]["model_version"] == "1.0.0"
