"""Prediction log records as the web process publishes them, for feeding ingest directly."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

LABELS = ("positive", "negative", "neutral")
ROUTINGS = ("sticky", "random", "explicit")


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
