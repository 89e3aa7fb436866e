"""Signed rollout webhooks, on the real stack: a local HTTP receiver, the real Celery worker posting
from the outbox, retries with backoff, the sweep for deliveries no task took, and bad URLs refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from tests.api import activate, register
from tests.apps import make_settings, shutdown
from tests.rollout_helpers import evaluate, seed
from tests.support import free_port, wait_for
from webapp import create_app
from webapp.extensions import db
from webapp.models import utcnow
from webapp.rollouts.delivery import DeliveryFailed, _claim, deliver
from webapp.rollouts.models import WebhookDelivery

SECRET = "hook-secret-8c1f2e7a"
FIELDS = {"event", "rollout_id", "model", "candidate", "baseline", "percent", "reason", "at"}


class Receiver:
    """A real HTTP server in a thread: records each POST's headers and raw body, answers the statuses given."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/rollouts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, secret: str = SECRET) -> list[dict]:
        """The bodies received, each checked against its signature in constant time."""
        bodies = []
        for headers, body in self.received:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(expected, headers["X-Signature-256"]), "a delivery with a bad signature"
            assert headers["Content-Type"] == "application/json"
            bodies.append(json.loads(body))
        return bodies


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.fixture
def versions(client) -> dict[str, str]:
    ids = {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0")}
    activate(client, ids["1.0.0"], 100)
    return ids


def start(client, url: str, **plan) -> dict:
    body = {"candidate": "2.0.0", "step_seconds": 0, "min_requests_per_step": 100,
            "webhooks": [{"url": url, "secret": SECRET}], **plan}  # fmt: skip
    response = client.post("/models/sentiment/rollouts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def served(app, client, versions) -> None:
    current = client.get("/models/sentiment/split").get_json()["config_version"]
    seed(app, versions["2.0.0"], routed=100, config_version=current)


def deliveries(client, rollout_id: int) -> list[dict]:
    return client.get(f"/rollouts/{rollout_id}").get_json()["webhooks"][0]["deliveries"]


@pytest.mark.slow
def test_every_transition_is_posted_signed_by_the_worker(app, client, versions, receiver, celery_worker):
    rollout = start(client, receiver.url, steps=[10, {"percent": 60, "gate": "manual"}, 100])
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["gate"]
    assert client.post(f"/rollouts/{rollout['id']}/promote", json={}).status_code == 200
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["advance"]
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["complete"]
    wait_for(lambda: len(receiver.received) >= 5, timeout=60, what="five deliveries")
    events = receiver.events()
    assert [e["event"] for e in events] == ["started", "gate", "promoted", "step", "completed"]
    assert all(set(e) == FIELDS for e in events), events
    assert [e["percent"] for e in events] == [10, 10, 60, 100, 100]
    assert {(e["rollout_id"], e["model"], e["candidate"], e["baseline"]) for e in events} == {
        (rollout["id"], "sentiment", "2.0.0", "1.0.0")
    }
    assert "waiting for approval" in events[1]["reason"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert [(d["event"], d["status"], d["attempts"]) for d in body["webhooks"][0]["deliveries"]] == [
        (event, "delivered", 1) for event in ("started", "gate", "promoted", "step", "completed")
    ]
    # The receiver's path (where a Slack-style hook keeps its token) is not shown to the read scope.
    assert body["webhooks"][0]["url"] == receiver.url.removesuffix("/hooks/rollouts") + "/…"
    listed = client.get("/models/sentiment/rollouts").get_json()
    assert SECRET not in json.dumps(body) + json.dumps(listed)  # never returned
    assert SECRET not in "".join(celery_worker.output)  # never logged by the worker


@pytest.mark.slow
def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(app, client, versions, receiver, celery_worker):
    receiver.statuses = [500, 503]
    rollout = start(client, receiver.url)
    wait_for(lambda: len(receiver.received) >= 1, timeout=30, what="the first attempt")
    first = wait_for(lambda: (d := deliveries(client, rollout["id"])[0])["last_error"] and d, timeout=10)
    # Full jitter can bring the first retry within a moment: the 503 may already be the last error.
    assert first["status"] == "pending", first
    seen = (first["attempts"], first["last_error"])
    assert seen in ((1, "the receiver answered 500"), (2, "the receiver answered 503")), first
    done = wait_for(lambda: (d := deliveries(client, rollout["id"])[0])["status"] == "delivered" and d, timeout=60,
                    what="the delivery after two retries")  # fmt: skip
    assert (done["attempts"], done["last_error"]) == (3, None) and done["delivered_at"]
    assert [e["event"] for e in receiver.events()] == ["started"] * 3  # the same signed body each time


@pytest.fixture
def brokerless(postgres_url, redis_url, tmp_path):
    """An app whose broker is down (nothing listens on its port): tasks cannot be sent from it."""
    settings = make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, BROKER_TIMEOUT_SECONDS=1,
                             CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//")  # fmt: skip
    application = create_app(settings)
    yield application
    shutdown(application)


@pytest.mark.slow
def test_deliveries_left_behind_while_the_broker_was_down_are_sent_by_the_sweep(
    app, client, versions, receiver, brokerless, celery_worker
):
    rollout = start(brokerless.test_client(), receiver.url)  # committed; its task could not be sent
    pause = brokerless.test_client().post(f"/rollouts/{rollout['id']}/pause", json={})
    assert pause.status_code == 200
    assert [d["status"] for d in deliveries(client, rollout["id"])] == ["pending", "pending"]
    with app.app_context():  # as if the sweep's grace of 30 s had passed
        db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    app.extensions["celery"].send_task("rollouts.deliver_webhooks")  # what beat sends every 30 s
    wait_for(lambda: len(receiver.received) >= 2, timeout=60, what="the sweep's deliveries")
    assert [e["event"] for e in receiver.events()] == ["started", "paused"]
    wait_for(lambda: all(d["status"] == "delivered" for d in deliveries(client, rollout["id"])), timeout=10)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://hooks.example.com/x", "must start with http:// or https://"),
        ("hooks.example.com/x", "must start with http:// or https://"),
        ("https:///no-host", "must name a host"),
        ("https://user:password@hooks.example.com/x", "must not carry a user name or password"),
        ("https://hooks.example.com/" + "a" * 2000, "at most 2,000 characters"),
        ("https://hooks.example.com:99999/x", "port"),
        ("https://hooks.example.com/a b", "spaces"),
    ],
)
def test_bad_webhook_urls_are_refused_with_422_in_plain_words(app, client, versions, url, words):
    response = client.post("/models/sentiment/rollouts",
                           json={"candidate": "2.0.0", "webhooks": [{"url": url, "secret": SECRET}]})  # fmt: skip
    assert response.status_code == 422, response.get_json()
    assert words in json.dumps(response.get_json()), response.get_json()
    assert SECRET not in json.dumps(response.get_json())
    assert client.get("/models/sentiment/rollouts").get_json() == []


def test_a_webhook_needs_a_secret(client, versions):
    plan = {"candidate": "2.0.0", "webhooks": [{"url": "https://hooks.example.com/x"}]}
    response = client.post("/models/sentiment/rollouts", json=plan)
    assert response.status_code == 422 and "secret" in json.dumps(response.get_json())


def test_a_rollout_without_webhooks_shows_none_and_queues_nothing(app, client, versions):
    response = client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0"})
    assert response.get_json()["webhooks"] == []
    with app.app_context():
        assert db.session.query(WebhookDelivery).count() == 0


def test_a_delivery_to_a_private_address_is_refused_unless_allowed(client, versions, receiver, brokerless):
    """Without WEBHOOK_ALLOW_PRIVATE_ADDRESSES a webhook cannot make the worker reach inside the network."""
    rollout = start(brokerless.test_client(), receiver.url)  # no task sent: only this test attempts it
    with brokerless.app_context():
        [delivery_id] = db.session.scalars(select(WebhookDelivery.id)).all()
        with pytest.raises(DeliveryFailed):
            deliver(delivery_id)  # this app's settings: the default, private addresses refused
    assert receiver.received == []
    [delivery] = deliveries(client, rollout["id"])
    assert delivery["status"] == "pending" and "private, loopback or link-local" in delivery["last_error"]


def test_a_sweep_never_posts_a_delivery_another_attempt_has_claimed(
    app, client, versions, receiver, brokerless, tmp_path
):
    allowed = create_app(make_settings(tmp_path / "allowed", DATABASE_URL=app.extensions["settings"].database_url,
                                       WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True))  # fmt: skip
    try:
        rollout = start(brokerless.test_client(), receiver.url)  # no task sent: only this test attempts it
        with allowed.app_context():
            [delivery_id] = db.session.scalars(select(WebhookDelivery.id)).all()
            db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            # The sweep found it due; then a retry claimed it and is posting it (still pending).
            assert _claim(delivery_id, due_only=False) is not None
            assert deliver(delivery_id, due_only=True) == "skipped"
        assert receiver.received == []
        assert [(d["status"], d["attempts"]) for d in deliveries(client, rollout["id"])] == [("pending", 1)]
    finally:
        shutdown(allowed)
