"""Shadow traffic: a version that mirrors a share of a model's routed requests, after the answer.

The client never waits for a shadow and never sees it: the view hands `run` to the response's close
hook, which the WSGI server calls once the answer has been sent. A shadow's prediction is logged
with routing "shadow" and `shadow_of` = the prediction_id of the answer it mirrored. A shadow that
fails is counted against its version like a served failure, with routing "shadow": its error rate
is evidence before anyone promotes it, and the client, already answered, sees nothing.
"""

from __future__ import annotations

import logging
import random
import time

from ..failures.pipeline import failure_record
from ..ids import new_uuid7
from ..routing.allocation import Arm, RoutingTable
from .records import LogSink, log_record, rounded
from .schemas import PredictionOut

log = logging.getLogger(__name__)


def pick(table: RoutingTable, served: PredictionOut, rng: random.Random | None = None) -> list[Arm]:
    """The shadows that mirror this answer: each one for its percent of routed (not explicit) requests."""
    allocation = table.allocations.get(served.model_name)
    if served.routing == "explicit" or allocation is None or not allocation.shadows:
        return []
    draw = (rng or random).random
    return [arm for arm in allocation.shadows if arm.model_id != served.model_id and draw() * 100 < arm.percent]


def run(
    shadows: list[Arm], text: str, user_id: str | None, served: PredictionOut, logs: LogSink, failures: LogSink
) -> None:
    """Run each shadow on the served request's text and log it; a failing shadow is counted, never raised."""
    for arm in shadows:
        try:
            started = time.perf_counter()
            predicted = arm.predictor.predict(text)
            latency_ms = round((time.perf_counter() - started) * 1000, 4)
            sentiment = rounded(predicted)
            # A shadow is no routed request: its row carries no routing-config version (epochs count routed rows).
            logs.append(
                log_record(
                    arm, text, user_id, sentiment, latency_ms,
                    prediction_id=new_uuid7(), routing="shadow", bucket=served.bucket, slot=served.slot,
                    shadow_of=served.prediction_id, config_version=None,
                )
            )  # fmt: skip
        except Exception as exc:  # the answer is sent: a failing shadow is counted, never raised to the server
            log.exception("shadow version %s of %s failed", arm.version, arm.name)
            # The status is the one a served request would have got: the version's failure, a 500.
            failures.append(failure_record(arm.model_id, arm.version, "shadow", None, 500, exc))
