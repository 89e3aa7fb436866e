"""The prediction log record, built one way for a served answer and for a shadow's, and the sink it goes to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from ..inference.base import Sentiment
from ..routing.allocation import Arm


class LogSink(Protocol):
    """Where records wait for the worker (a `LogBuffer`): appending does no I/O."""

    def append(self, record: dict) -> None: ...


def rounded(sentiment: Sentiment) -> Sentiment:
    """The sentiment as it is answered and logged: 4 decimals."""
    return Sentiment(
        sentiment.label,
        round(sentiment.confidence, 4),
        round(sentiment.polarity, 4),
        round(sentiment.subjectivity, 4),
        sentiment.evidence,
    )


def log_record(
    arm: Arm,
    text: str,
    user_id: str | None,
    sentiment: Sentiment,
    latency_ms: float,
    *,
    prediction_id: str,
    routing: str,
    bucket: int | None,
    slot: int | None,
    shadow_of: str | None,
    config_version: int | None,
) -> dict:
    """One prediction log record, keyed by `logpipe.wire.LOG_FIELDS`."""
    return {
        "prediction_id": prediction_id,
        "model_id": arm.model_id,
        "model_version": arm.version,
        "user_id": user_id,
        "text": text,
        "prediction": sentiment.label,
        "confidence": sentiment.confidence,
        "polarity": sentiment.polarity,
        "subjectivity": sentiment.subjectivity,
        "latency_ms": latency_ms,
        "routing": routing,
        "bucket": bucket,
        "created_at": datetime.now(UTC).isoformat(),
        "slot": slot,
        "shadow_of": shadow_of,
        "config_version": config_version,
    }
