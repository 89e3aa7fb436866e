"""One prediction: route, infer, buffer the log record. No I/O happens here, not even when the model fails."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..errors import PredictionFailed
from ..failures.pipeline import failure_record
from ..ids import new_uuid7
from ..metrics.instruments import count_prediction
from ..routing.allocation import Route, RoutingTable
from . import shadow
from .records import LogSink, log_record, rounded
from .schemas import PredictionOut, PredictRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    result: PredictionOut
    after_sent: Callable[[], None] | None  # the shadows' work, to run once the answer has been sent


def answer(request: PredictRequest, table: RoutingTable, logs: LogSink, failures: LogSink) -> Answer:
    """Everything /predict does before it writes its answer, whichever layer serves it (views, fastpath)."""
    result = predict(request, table, logs, failures)
    count_prediction(
        result.model_name, result.model_version, result.routing, result.prediction, result.latency_ms / 1000
    )
    mirrors = shadow.pick(table, result)
    if not mirrors:
        return Answer(result, None)
    return Answer(result, partial(shadow.run, mirrors, request.text, request.user_key, result, logs, failures))


def predict(request: PredictRequest, table: RoutingTable, logs: LogSink, failures: LogSink) -> PredictionOut:
    """Serve one request from an in-memory routing table and queue its log record (or its failure's)."""
    route = table.route(random.random(), request.model, request.user_key, request.model_version)
    arm = route.arm
    started = time.perf_counter()
    try:
        predicted = arm.predictor.predict(request.text)
    except Exception as exc:  # any failure of the model is the version's: count it, answer a JSON 500
        raise _counted_failure(route, table.version, failures, exc) from exc
    latency_ms = round((time.perf_counter() - started) * 1000, 4)
    sentiment = rounded(predicted)
    prediction_id = new_uuid7()
    result = PredictionOut(
        prediction=sentiment.label,
        confidence=sentiment.confidence,
        polarity=sentiment.polarity,
        subjectivity=sentiment.subjectivity,
        evidence=sentiment.evidence,
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
        log_record(
            arm, request.text, request.user_key, sentiment, latency_ms,
            prediction_id=prediction_id, routing=route.method, bucket=route.bucket, slot=route.slot,
            shadow_of=None, config_version=table.version,
        )
    )  # fmt: skip
    return result


def _counted_failure(route: Route, config_version: int, failures: LogSink, exc: Exception) -> PredictionFailed:
    """Queue the failure against the routed version; the error the client gets names the version, not the cause."""
    arm = route.arm
    log.exception("version %s of %s failed to predict", arm.version, arm.name)
    status = PredictionFailed.status
    failures.append(failure_record(arm.model_id, arm.version, route.method, config_version, status, exc))
    message = f"version {arm.version} of {arm.name} failed to predict; the failure is counted against it"
    return PredictionFailed(message, {"model_version": arm.version})
