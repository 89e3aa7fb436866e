"""Rollouts on the real stack: gunicorn, RabbitMQ, a real Celery worker running `rollouts.evaluate`,
Postgres, and replayed human-rated traffic with feedback."""

from __future__ import annotations

import psycopg2
import pytest

from tests.apps import make_settings, shutdown
from tests.http_client import call, reachable
from tests.support import CeleryWorker, GunicornServer, free_port, unavailable, wait_for
from tests.traffic import sessions_where
from webapp import create_app
from webapp.cli.datasets import DataDirMissing, load_labelled_sets
from webapp.cli.replay_traffic import ReplayPlan, replay

pytestmark = pytest.mark.slow

RATE = 600


@pytest.fixture
def service(app, celery_worker, worker_env):
    # A loaded 2-core machine can take longer than the default 0.25 s to open a broker connection.
    server = GunicornServer({**worker_env, "BROKER_TIMEOUT_SECONDS": "3"}, free_port(), workers=2)
    server.start()
    wait_for(lambda: reachable(server.url), timeout=30, what="gunicorn")
    yield server.url
    server.stop()


@pytest.fixture
def sender(postgres_url, redis_url, broker_url, tmp_path):
    """An app to publish tasks with, patient with a broker slowed by a loaded machine."""
    settings = make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, CELERY_BROKER_URL=broker_url,
                             BROKER_TIMEOUT_SECONDS=5)  # fmt: skip
    application = create_app(settings)
    yield application
    shutdown(application)


@pytest.fixture(scope="module")
def texts():
    """The shared human-rated sets: a missing directory skips here, and fails under CI=true."""
    try:
        sets = load_labelled_sets()
    except DataDirMissing as exc:
        unavailable(f"the human-rated sentiment sets ({exc})", "set SENTIMENT_DATA_DIR to /work/shared/data/sentiment")
    return sets["amazon"] + sets["tweets"]


def ok(url: str, method: str, path: str, body=None, status: int = 200):
    answer = call(url, method, path, body)
    assert answer[0] == status, answer
    return answer[1]


def register_two(url: str, candidate: dict) -> None:
    """sentiment 1.0.0 (textblob-basic) at 100%, and 2.0.0 as given, inactive."""
    v1 = ok(url, "POST", "/models", {"name": "sentiment", "version": "1.0.0"}, 201)["model_id"]
    ok(url, "POST", "/models", {"name": "sentiment", "version": "2.0.0", **candidate}, 201)
    ok(url, "POST", f"/models/{v1}/activate", {"percent": 100})


def evaluate_with_worker(app, url: str, rollout_id: int) -> dict:
    """Publish `rollouts.evaluate` by name and wait until the worker has judged the rollout."""
    before = ok(url, "GET", f"/rollouts/{rollout_id}")["evaluated_at"]
    app.extensions["celery"].send_task("rollouts.evaluate")
    return wait_for(
        lambda: (body := ok(url, "GET", f"/rollouts/{rollout_id}"))["evaluated_at"] != before and body,
        timeout=60,
        interval=0.5,
        what="the worker's evaluation",
    )


def test_a_less_accurate_candidate_is_rolled_back_at_its_first_step(sender, service, texts):
    # A neutral band of 0.6 calls nearly every text neutral: far less accurate than 1.0.0.
    register_two(service, {"algorithm": "textblob-basic", "params": {"neutral_band": 0.6}})
    rollout = ok(service, "POST", "/models/sentiment/rollouts",
                 {"candidate": "2.0.0", "steps": [20, 50, 100], "step_seconds": 3600,
                  # Judged on accuracy alone: a p95 over a few hundred requests on a loaded machine is noise.
                  "guardrails": {"max_p95_latency_ratio": None}}, 201)  # fmt: skip
    result = replay(texts[:2500], ReplayPlan(url=service, rate=RATE, users=1000, feedback=True))
    assert not result.errors
    assert result.accuracy("2.0.0") < result.accuracy("1.0.0") - 0.1
    body = evaluate_with_worker(sender, service, rollout["id"])
    assert (body["state"], body["step_index"], body["current_percent"]) == ("rolled_back", 0, 0), body
    assert body["reason"].startswith("accuracy "), body["reason"]
    accuracy = next(check for check in body["guardrails"] if check["name"] == "accuracy_drop")
    assert accuracy["breached"] and accuracy["value"] > 0.1
    assert [event["action"] for event in body["history"]] == ["start", "rollback"]
    split = ok(service, "GET", "/models/sentiment/split")
    assert [(v["version"], v["traffic_percent"]) for v in split["versions"]] == [("1.0.0", 100)]


def test_the_seeds_upgrade_completes_with_the_default_guardrails(sender, service, texts):
    # 2.0.0 is textblob-advanced: more accurate, and a fraction of a millisecond slower per request,
    # which the default latency guardrail (1.5x AND 10 ms more) lets through.
    register_two(service, {})
    plan = {"candidate": "2.0.0", "steps": [25, 50, 100], "step_seconds": 1, "min_requests_per_step": 100,
            "guardrails": {"max_accuracy_drop": 0.02}}  # fmt: skip
    rollout = ok(service, "POST", "/models/sentiment/rollouts", plan, 201)
    batches = [texts[:700], texts[700:1100], texts[1100:1400]]  # >= 100 candidate requests at 25%, 50%, 100%
    for step, batch in enumerate(batches):
        replay(batch, ReplayPlan(url=service, rate=RATE, users=400, feedback=True))
        body = evaluate_with_worker(sender, service, rollout["id"])
        assert body["state"] == ("completed" if step == 2 else "running"), body
    assert [event["action"] for event in body["history"]] == ["start", "advance", "advance", "complete"]
    latency = next(check for check in body["guardrails"] if check["name"] == "p95_latency_ratio")
    assert latency["value"] is not None and not latency["breached"], latency  # judged, on 100+ requests
    accuracy = next(check for check in body["guardrails"] if check["name"] == "accuracy_drop")
    assert accuracy["value"] is not None and not accuracy["breached"], accuracy
    split = ok(service, "GET", "/models/sentiment/split")
    assert [(v["version"], v["traffic_percent"], v["slots"]) for v in split["versions"]] == [("2.0.0", 100, 10_000)]


KILL_QUEUE = "rollouts-kill-test"


@pytest.fixture
def lone_worker(worker_env):
    """A worker of its own on a queue of its own, so that only it takes the task it is sent."""
    worker = CeleryWorker(worker_env)
    worker.command += ["--queues", KILL_QUEUE, "--hostname", "rollouts-kill@%h"]  # not the session worker's name
    worker.start()
    yield worker
    worker.kill()


def send_evaluate(app) -> None:
    app.extensions["celery"].send_task("rollouts.evaluate", queue=KILL_QUEUE)


def test_an_evaluation_killed_mid_step_leaves_split_and_step_consistent(client, sender, lone_worker, postgres_url):
    worker = lone_worker
    for version in ("1.0.0", "2.0.0"):
        assert client.post("/models", json={"name": "sentiment", "version": version}).status_code == 201
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 100}})
    plan = {"candidate": "2.0.0", "steps": [10, 60, 100], "step_seconds": 0, "min_requests_per_step": 0}
    rollout = client.post("/models/sentiment/rollouts", json=plan).get_json()
    blocker = psycopg2.connect(postgres_url)
    try:
        # Hold the name's slot row: the evaluation gets past its compare-and-set, then waits here.
        blocker.cursor().execute("SELECT name FROM splits WHERE name = 'sentiment' FOR UPDATE")
        send_evaluate(sender)
        wait_for(lambda: _waiting_on_lock(postgres_url), timeout=30, what="the evaluation to block mid-step")
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["step_index"], body["current_percent"]) == (0, 10), body
    worker.start()  # the killed task was never acknowledged: the broker hands it to the new worker
    wait_for(lambda: client.get(f"/rollouts/{rollout['id']}").get_json()["step_index"] == 1, 60, what="the advance")
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    split = {v["version"]: v["traffic_percent"] for v in client.get("/models/sentiment/split").get_json()["versions"]}
    assert (body["current_percent"], split) == (60, {"1.0.0": 40, "2.0.0": 60})
    assert [event["action"] for event in body["history"]] == ["start", "advance"]


def _waiting_on_lock(postgres_url: str) -> bool:
    """Whether a session waits for a lock on the splits table."""
    return sessions_where(postgres_url, "wait_event_type = 'Lock' AND query ILIKE '%splits%'") > 0
