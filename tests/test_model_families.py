"""A new model family is one Predictor class and its registration: nothing else changes.

The family below exists only in this file. Registered, it is accepted by the registry (with its
own params validated), served by the router, logged by the pipeline and counted by the stats,
exactly as the built-in families are, and so is `vader`, the third built-in family.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import Field
from sqlalchemy import select
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.api import activate, predict, register
from tests.support import wait_for
from webapp.extensions import db
from webapp.inference import PREDICTORS, VADER, register_predictor
from webapp.inference.base import Predictor, PredictorParams, Sentiment
from webapp.models import PredictionLog

SHOUTING = "test-shouting"


class ShoutingParams(PredictorParams):
    threshold: int = Field(default=1, ge=1, le=10)


class ShoutingPredictor(Predictor):
    """Test-only family: a text with at least `threshold` exclamation marks is positive."""

    algorithm = SHOUTING
    Params = ShoutingParams

    def predict(self, text: str) -> Sentiment:
        shouting = text.count("!") >= self.params.threshold
        return Sentiment("positive" if shouting else "negative", 0.75, 0.5 if shouting else -0.5, 1.0)


@pytest.fixture
def shouting_family() -> Iterator[type[Predictor]]:
    register_predictor(ShoutingPredictor)
    yield ShoutingPredictor
    del PREDICTORS[SHOUTING]


def test_a_family_defined_outside_the_app_is_registered_routed_and_served(client, shouting_family):
    model = register(client, "shouting", "1.0.0", algorithm=SHOUTING, params={"threshold": 2})
    assert (model["algorithm"], model["params"]) == (SHOUTING, {"threshold": 2})
    activate(client, model["model_id"], 100)

    assert predict(client, "Great!!", user_id="u1")["prediction"] == "positive"
    answer = predict(client, "Great!", user_id="u1")
    assert answer["prediction"] == "negative"  # one "!" is under this version's threshold of 2
    assert (answer["model_id"], answer["confidence"], answer["routing"]) == (model["model_id"], 0.75, "sticky")


def test_a_new_familys_params_are_checked_by_its_own_params_class(client, shouting_family):
    response = client.post(
        "/models", json={"name": "shouting", "version": "1.0.0", "algorithm": SHOUTING, "params": {"threshold": 0}}
    )
    assert response.status_code == 422
    assert "threshold" in str(response.get_json()["error"]["details"])
    assert client.get("/models").get_json() == []


def test_an_unregistered_family_is_refused(client):
    response = client.post("/models", json={"name": "shouting", "version": "1.0.0", "algorithm": SHOUTING})
    assert response.status_code == 422


def test_vader_is_served_through_the_api_beside_textblob(client):
    v1 = register(client, "sentiment", "1.0.0")
    vader = register(client, "sentiment", "3.0.0", algorithm=VADER)
    assert vader["params"] == {"neutral_band": 0.05}
    activate(client, v1["model_id"], 50)
    activate(client, vader["model_id"], 50)

    text = "The plot was dull, but the acting was superb."
    answer = predict(client, text, model_version="3.0.0")
    assert (answer["model_id"], answer["prediction"]) == (vader["model_id"], "positive")
    assert answer["polarity"] == pytest.approx(SentimentIntensityAnalyzer().polarity_scores(text)["compound"])


@pytest.mark.slow
def test_new_families_are_logged_and_counted_with_no_change_elsewhere(app, client, shouting_family, celery_worker):
    shouting = register(client, "sentiment", "1.0.0", algorithm=SHOUTING)
    vader = register(client, "sentiment", "2.0.0", algorithm=VADER)
    activate(client, shouting["model_id"], 50)
    activate(client, vader["model_id"], 50)
    texts = ["What a great day!", "This is awful.", "The phone arrived on Tuesday."] * 20
    answers = [predict(client, text, user_id=f"user-{n}") for n, text in enumerate(texts)]
    ids = {uuid.UUID(answer["prediction_id"]) for answer in answers}

    def logged() -> set[uuid.UUID]:
        with app.app_context():
            query = select(PredictionLog.prediction_id).where(PredictionLog.prediction_id.in_(ids))
            return set(db.session.scalars(query))

    wait_for(lambda: logged() == ids, timeout=30, what="every prediction in Postgres")
    assert client.post("/models/stats/refresh", json={}).status_code == 202

    def stats() -> dict[str, dict]:
        return {entry["model_id"]: entry for entry in client.get("/models/stats").get_json()}

    wait_for(lambda: sum(e["request_count"] for e in stats().values()) == len(answers), timeout=30, what="stats")
    by_model = stats()
    for model in (shouting, vader):
        served = [a for a in answers if a["model_id"] == model["model_id"]]
        entry = by_model[model["model_id"]]
        assert served and entry["request_count"] == len(served)
        assert entry["avg_confidence"] == pytest.approx(sum(a["confidence"] for a in served) / len(served), abs=1e-4)
        counts = {label: n for label, n in entry["prediction_counts"].items() if n}
        assert counts == dict(Counter(a["prediction"] for a in served))
