"""A test-only model family that answers like textblob-basic after a fixed delay: a candidate that is
slower by a known number of milliseconds, and no more accurate or less.

It exists only in the tests. A server that must serve it imports this module: gunicorn runs
`tests.slow_family:create_wsgi_app()`, which registers the family before it builds the app.
"""

from __future__ import annotations

import time

from flask import Flask
from pydantic import Field

from webapp import create_app
from webapp.inference import PREDICTORS, register_predictor
from webapp.inference.base import Predictor, PredictorParams, Sentiment
from webapp.inference.basic import BasicPredictor

SLOW = "test-slow"


class SlowParams(PredictorParams):
    delay_ms: float = Field(default=50.0, ge=0, le=1000)


class SlowPredictor(Predictor):
    """textblob-basic's answer, `delay_ms` later."""

    algorithm = SLOW
    Params = SlowParams

    def predict(self, text: str) -> Sentiment:
        time.sleep(self.params.delay_ms / 1000)
        return BasicPredictor().predict(text)


def register_slow_family() -> None:
    if SLOW not in PREDICTORS:
        register_predictor(SlowPredictor)


def create_wsgi_app() -> Flask:
    """The WSGI app of a server that can serve the test-only family."""
    register_slow_family()
    return create_app()
