"""Faults of the broker: RabbitMQ stopped under load, SIGKILLed with batches queued, and down past the spool bound.

Each test runs a RabbitMQ node of its own (node name, ports and data directory), so the shared one
is never touched. Batches the broker has not confirmed wait in each web process's spool file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_client import call
from tests.services import ThrowawayRabbit
from tests.support import CeleryWorker, GunicornServer, free_port, wait_for
from tests.traffic import PredictTraffic, missing_after, start_two_versions
from webapp.config import Settings

OUTAGE_SECONDS = 15


def log_counters(base_url: str) -> dict:
    """The prediction-log counts of every web process (Prometheus' metric files), as /health shows them (also
    when it is 503)."""
    _, body = call(base_url, "GET", "/health")
    components = body["components"] if "components" in body else body["error"]["details"]["components"]
    return components["prediction_logs"]["all_processes"]


@pytest.fixture
def broker() -> Iterator[ThrowawayRabbit]:
    node = ThrowawayRabbit()
    node.start(timeout=90)
    yield node
    node.remove()


@pytest.fixture
def env(app, postgres_url: str, redis_url: str, broker: ThrowawayRabbit, tmp_path: Path) -> dict[str, str]:
    """Empty tables, the shared test database and cache, the throwaway broker."""
    return {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker.url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "STATS_REFRESH_SECONDS": "3600",
    }


def assert_every_spooled_record_was_sent_on(base_url: str) -> dict:
    counters = wait_for(
        lambda: (now := log_counters(base_url))["respooled_published"] == now["spooled"] and now,
        timeout=10,
        what="every spooled record to be counted as re-published",
    )
    assert counters["dropped"] == 0
    return counters


@pytest.mark.slow
def test_predictions_are_answered_and_their_logs_kept_through_a_broker_outage(postgres_url, broker, env):
    web, worker = GunicornServer(env, free_port()), CeleryWorker(env)
    web.start()
    worker.start()
    try:
        start_two_versions(web.url)
        with PredictTraffic(web.url) as traffic:
            time.sleep(3)
            down_at = time.monotonic()
            broker.stop()
            wait_for(lambda: log_counters(web.url)["spooled"] > 0, timeout=10, what="log records to be spooled")
            time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            broker.start(timeout=90)
            up_at = time.monotonic()
            time.sleep(3)

        during = traffic.between(down_at, up_at)
        answered = [answer for answer in during if answer.status == 200]
        assert len(during) >= 100, "too little traffic during the outage to judge"
        assert len(answered) / len(during) >= 0.99
        slowest = sorted(answer.answered_at - answer.sent_at for answer in answered)
        assert slowest[int(len(slowest) * 0.99)] < 0.5, "requests waited on the dead broker"

        expected = traffic.answered_ids()
        missing = missing_after(postgres_url, expected, timeout=60)
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions never reached Postgres"
        assert assert_every_spooled_record_was_sent_on(web.url)["spooled"] > 0
    finally:
        web.stop()
        worker.stop()


@pytest.mark.slow
def test_confirmed_batches_survive_a_broker_killed_with_them_queued(postgres_url, broker, env):
    web, worker = GunicornServer(env, free_port()), CeleryWorker(env)
    web.start()
    try:
        start_two_versions(web.url)
        # No worker yet: every confirmed batch waits in the queue, on the broker's disk only.
        with PredictTraffic(web.url) as traffic:
            time.sleep(4)
            broker.kill()  # SIGKILL: no flush, no goodbye; batches in flight stay unconfirmed
            time.sleep(3)
            broker.start(timeout=90)
            time.sleep(3)
        assert log_counters(web.url)["published"] > 0, "nothing was queued before the kill"
        worker.start()
        expected = traffic.answered_ids()
        missing = missing_after(postgres_url, expected, timeout=60)
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions lost with the broker"
        assert_every_spooled_record_was_sent_on(web.url)
    finally:
        web.stop()
        worker.stop()


@pytest.mark.slow
def test_beyond_the_spool_bound_every_record_is_either_spooled_or_counted_as_dropped(broker, env):
    web = GunicornServer({**env, "SPOOL_MAX_RECORDS": "100"}, free_port())  # 100 per web process
    web.start()
    try:
        start_two_versions(web.url)
        broker.stop()
        with PredictTraffic(web.url) as traffic:
            wait_for(lambda: log_counters(web.url).get("dropped"), timeout=30, what="records beyond the bound")
        answered = len(traffic.answered_ids())
        counters = wait_for(
            lambda: (now := log_counters(web.url))["spooled"] + now["dropped"] == answered and now,
            timeout=5,
            what=f"all {answered} answered predictions to be counted as spooled or dropped",
        )
        spooled = list(Settings.from_env(env).spool_path.glob("*.jsonl"))  # one spool file per web process
        assert spooled, "no spool file: the bound was never reached"
        for path in spooled:
            kept = sum(json.loads(line)["count"] for line in path.read_text().splitlines())
            assert kept <= 100  # batches are kept or dropped whole, never past the bound
        assert counters["dropped"] > 0
        assert "log spool full (100 records): dropped" in "".join(web.output)
    finally:
        web.stop()
