"""A /predict that fails after routing: a JSON 500 for the client, a row in prediction_errors for the version,
and the error-rate guardrail of a rollout fed from those rows.

The failing version is a test-only predictor family: it raises on a fixed share of texts (chosen by a
CRC of the text, so the same texts fail every time) and answers the others.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator

import pytest
from pydantic import Field
from sqlalchemy import event, func, select

from tests.api import activate, predict, register
from tests.records import refresh_settled
from tests.rollout_helpers import shares
from tests.support import wait_for
from webapp.extensions import db
from webapp.failures.ingest import write_error_batch
from webapp.failures.models import PredictionError
from webapp.failures.pipeline import encode_error_batch, failure_record
from webapp.inference import PREDICTORS, register_predictor
from webapp.inference.base import Predictor, PredictorParams, Sentiment
from webapp.models import PredictionLog
from webapp.rollouts.evaluate import evaluate_all

FLAKY = "test-flaky"
SECRET = "internal detail the client must not see"


class ModelCrashed(RuntimeError):
    """What the flaky family raises."""


class FlakyParams(PredictorParams):
    failing_percent: int = Field(default=100, ge=0, le=100)


class FlakyPredictor(Predictor):
    """Test-only family: raises on `failing_percent` percent of texts, calls the rest positive."""

    algorithm = FLAKY
    Params = FlakyParams

    def predict(self, text: str) -> Sentiment:
        if fails(text, self.params.failing_percent):
            raise ModelCrashed(SECRET)
        return Sentiment("positive", 0.9, 0.5, 0.5)


def fails(text: str, percent: int) -> bool:
    return zlib.crc32(text.encode()) % 100 < percent


@pytest.fixture
def flaky_family() -> Iterator[type[Predictor]]:
    register_predictor(FlakyPredictor)
    yield FlakyPredictor
    del PREDICTORS[FLAKY]


def stored_errors(app, model_id: str) -> list[PredictionError]:
    with app.app_context():
        rows = db.session.scalars(select(PredictionError).where(PredictionError.model_id == uuid.UUID(model_id))).all()
        db.session.remove()
        return rows


def test_a_failing_version_answers_a_json_500_and_the_failure_is_stored_against_it(
    app, client, flaky_family, celery_worker
):
    flaky = register(client, version="1.0.0", algorithm=FLAKY)
    activate(client, flaky["model_id"], 100)
    response = client.post("/predict", json={"text": "anything", "user_id": "u1"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "prediction_failed"
    assert body["error"]["details"] == {"model_version": "1.0.0"}
    assert SECRET not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)

    (error,) = wait_for(lambda: stored_errors(app, flaky["model_id"]), timeout=30, what="the stored failure")
    assert (error.model_version, error.routing, error.status) == ("1.0.0", "sticky", 500)
    assert error.error_class == "tests.test_prediction_errors.ModelCrashed"
    entry = next(e for e in client.get("/models/stats").get_json() if e["model_id"] == flaky["model_id"])
    assert entry["error_count"] == 1


def test_a_failing_shadow_leaves_the_answer_alone_and_is_stored_against_its_version(
    app, client, flaky_family, celery_worker
):
    served = register(client, version="1.0.0")
    flaky = register(client, version="2.0.0", algorithm=FLAKY)
    activate(client, served["model_id"], 100)
    assert client.post(f"/models/{flaky['model_id']}/shadow", json={"percent": 100}).status_code == 200
    response = client.post("/predict", json={"text": "anything", "user_id": "u1"})
    assert response.status_code == 200 and response.get_json()["model_id"] == served["model_id"]
    response.close()  # what the WSGI server does once the answer is sent: the shadow runs now

    (error,) = wait_for(lambda: stored_errors(app, flaky["model_id"]), timeout=30, what="the shadow's failure")
    assert (error.model_version, error.routing, error.status, error.config_version) == ("2.0.0", "shadow", 500, None)
    assert error.error_class == "tests.test_prediction_errors.ModelCrashed"
    assert stored_errors(app, served["model_id"]) == []
    counts = {e["model_id"]: e["error_count"] for e in client.get("/models/stats").get_json()}
    assert (counts[flaky["model_id"]], counts[served["model_id"]]) == (1, 0)


def test_a_successful_prediction_queries_no_database_and_queues_no_failure(app, client):
    model = register(client, version="1.0.0")
    activate(client, model["model_id"], 100)
    predict(client, "warm the routing table")
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        predict(client, "I love this!", user_id="u1")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements == []
    assert app.extensions["error_buffer"].status()["buffered"] == 0


def test_a_redelivered_batch_of_failures_is_stored_once_and_a_bad_row_is_rejected(app):
    model_id = str(uuid.uuid4())
    good = failure_record(model_id, "1.0.0", "random", 3, 500, ModelCrashed("x"))
    bad = failure_record(model_id, "1.0.0", "random", 3, 200, ModelCrashed("x"))  # a 200 is not a failure
    payload = encode_error_batch([good, bad])
    with app.app_context():
        first, second = write_error_batch(payload), write_error_batch(payload)
        assert (first.received, first.inserted, first.rejected) == (2, 1, 1)
        assert (second.inserted, second.duplicates) == (0, 1)
        assert db.session.scalar(select(func.count()).select_from(PredictionError)) == 1


def texts(count: int, start: int, failing_percent: int, clean: bool) -> list[str]:
    """`count` distinct texts; only ones the flaky family answers when `clean`."""
    found, n = [], start
    while len(found) < count:
        text = f"review {n}: the battery lasts all day"
        if not clean or not fails(text, failing_percent):
            found.append(text)
        n += 1
    return found


def send(client, batch: list[str]) -> tuple[int, int]:
    """Each text from a user of its own; (answered, failed)."""
    statuses = [client.post("/predict", json={"text": t, "user_id": f"user-{t}"}).status_code for t in batch]
    assert set(statuses) <= {200, 500}
    return statuses.count(200), statuses.count(500)


def settle_and_evaluate(app, answered: int, failed: int) -> list:
    """Wait until the worker stored every log and failure so far, refresh, and judge the rollouts once."""
    with app.app_context():

        def stored() -> bool:
            logs = db.session.scalar(select(func.count()).select_from(PredictionLog))
            errors = db.session.scalar(select(func.count()).select_from(PredictionError))
            db.session.commit()
            return (logs, errors) == (answered, failed)

        wait_for(stored, timeout=60, interval=0.2, what="the worker to store every log and failure")
        refresh_settled()
        outcomes = evaluate_all(5000, on_commit=app.extensions["router"].publish_from_database, refresh=False)
        db.session.remove()
        return outcomes


@pytest.mark.slow
def test_a_candidate_that_fails_often_is_rolled_back_on_error_rate_at_the_step_it_failed_in(
    app, client, flaky_family, celery_worker
):
    baseline = register(client, version="1.0.0")
    candidate = register(client, version="2.0.0", algorithm=FLAKY, params={"failing_percent": 30})
    activate(client, baseline["model_id"], 100)
    plan = {
        "candidate": "2.0.0", "steps": [20, 50, 100], "step_seconds": 0, "min_requests_per_step": 30,
        "guardrails": {"max_error_rate": 0.02, "max_p95_latency_ratio": None, "max_accuracy_drop": None},
    }  # fmt: skip
    rollout = client.post("/models/sentiment/rollouts", json=plan).get_json()

    # Step 0 (20%): the candidate meets only texts it answers, and advances.
    answered, failed = send(client, texts(300, 0, 30, clean=True))
    assert failed == 0
    outcomes = settle_and_evaluate(app, answered, failed)
    assert [o.action for o in outcomes] == ["advance"], outcomes
    assert shares(client) == {"1.0.0": 50, "2.0.0": 50}

    # Step 1 (50%): it meets every kind of text and fails on about 30% of its share.
    more_answered, more_failed = send(client, texts(300, 10_000, 30, clean=False))
    assert 20 <= more_failed <= 70
    assert [o.action for o in settle_and_evaluate(app, answered + more_answered, more_failed)] == ["rollback"]

    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["state"], body["step_index"], body["current_percent"]) == ("rolled_back", 1, 0), body
    assert body["reason"].startswith("error rate "), body["reason"]
    check = next(check for check in body["guardrails"] if check["name"] == "error_rate")
    assert check["breached"] and 0.2 <= check["value"] <= 0.4, check
    assert [event["action"] for event in body["history"]] == ["start", "advance", "rollback"]
    assert shares(client) == {"1.0.0": 100}
    assert len(stored_errors(app, candidate["model_id"])) == more_failed
