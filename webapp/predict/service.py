"""One prediction: route, infer, buffer the log record. No I/O happens here."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Protocol

from ..ids import new_uuid4
from ..routing.allocation import RoutingTable
from ..schemas import PredictionOut, PredictRequest


class LogSink(Protocol):
    def append(self, record: dict) -> None: ...


def predict(request: PredictRequest, table: RoutingTable, logs: LogSink) -> PredictionOut:
    """Serve one request from an in-memory routing table and queue its log record."""
    route = table.route(random.random(), request.model, request.user_key, request.model_version)
    arm = route.arm
    started = time.perf_counter()
    sentiment = arm.predictor.predict(request.text)
    latency_ms = round((time.perf_counter() - started) * 1000, 4)
    prediction_id = new_uuid4()
    result = PredictionOut(
        prediction=sentiment.label,
        confidence=round(sentiment.confidence, 4),
        polarity=round(sentiment.polarity, 4),
        subjectivity=round(sentiment.subjectivity, 4),
        model_id=arm.model_id,
        model_name=arm.name,
        model_version=arm.version,
        latency_ms=latency_ms,
        prediction_id=prediction_id,
        routing=route.method,
        bucket=route.bucket,
        slot=route.slot,
    )
    logs.append(
        {
            "prediction_id": prediction_id,
            "model_id": arm.model_id,
            "model_version": arm.version,
            "user_id": request.user_key,
            "text": request.text,
            "prediction": result.prediction,
            "confidence": result.confidence,
            "polarity": result.polarity,
            "subjectivity": result.subjectivity,
            "latency_ms": latency_ms,
            "routing": route.method,
            "bucket": route.bucket,
            "created_at": datetime.now(UTC).isoformat(),
            "slot": route.slot,
            "shadow_of": None,
            "config_version": table.version,
        }
    )
    return result
