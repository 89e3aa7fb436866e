"""Prediction log records as the web process publishes them, and the statistics they must produce."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from webapp.extensions import db
from webapp.models import ModelStats, StatsCursor

LABELS = ("positive", "negative", "neutral")
ROUTINGS = ("sticky", "random", "explicit", "shadow")


def log_record(model_id: str, version: str = "1.0.0", **overrides: Any) -> dict[str, Any]:
    record = {
        "prediction_id": str(uuid.uuid4()),
        "model_id": model_id,
        "model_version": version,
        "user_id": None,
        "text": "I love this!",
        "prediction": "positive",
        "confidence": 0.8,
        "polarity": 0.6,
        "subjectivity": 0.6,
        "latency_ms": 0.25,
        "routing": "random",
        "bucket": None,
        "created_at": datetime.now(UTC).isoformat(),
        "slot": None,
        "shadow_of": None,
        "config_version": None,
    }
    return {**record, **overrides}


def random_records(model_id: str, count: int, version: str = "1.0.0", seed: int | None = None) -> list[dict]:
    """Varied records: latencies spread over two orders of magnitude, all labels and routings."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        log_record(
            model_id,
            version,
            prediction=rng.choice(LABELS),
            routing=rng.choice(ROUTINGS),
            confidence=round(rng.random(), 4),
            latency_ms=round(rng.lognormvariate(-1.2, 0.6), 4),
            created_at=(start + timedelta(seconds=rng.randrange(86_400))).isoformat(),
        )
        for _ in range(count)
    ]


def expected_totals(records: list[dict]) -> dict:
    """What the stats must say, computed here from the records themselves."""
    return {
        "request_count": len(records),
        "latency_sum": sum(Decimal(str(r["latency_ms"])) for r in records),
        "confidence_sum": sum(Decimal(str(r["confidence"])) for r in records),
        "latency_sum_squares": sum(Decimal(str(r["latency_ms"])) ** 2 for r in records),
        **{f"{label}_count": sum(r["prediction"] == label for r in records) for label in LABELS},
        **{f"{route}_count": sum(r["routing"] == route for r in records) for route in ROUTINGS},
    }


def stored_totals(model_id: str) -> dict:
    """What model_stats says for one version (call within an app context)."""
    stats = db.session.get(ModelStats, uuid.UUID(model_id))
    db.session.expire_all()
    return {key: getattr(stats, key) for key in expected_totals([])}


def refresh_settled(timeout: float = 30.0):
    """Refresh until every write committed so far is inside the refresh's window.

    Transaction ids are cluster-wide: a long transaction in another database on the same Postgres
    (another test run) holds the snapshot horizon back, and the refresh rightly leaves newer rows
    for its next run. Tests that read totals right after writing wait for the horizon instead.
    """
    from sqlalchemy import text

    from webapp.stats.refresh import refresh_stats

    marker = db.session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    db.session.commit()
    deadline = time.monotonic() + timeout
    while True:
        result = refresh_stats()
        if db.session.get(StatsCursor, 1).position > marker or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
