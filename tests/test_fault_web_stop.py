"""Faults of the web tier: gunicorn stopped gracefully, and a web worker killed, both under load."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support import GunicornServer, free_port, wait_for
from tests.traffic import PredictTraffic, missing_after, start_two_versions, stored_prediction_ids


@pytest.fixture
def web_env(app, celery_worker, worker_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Empty tables, the shared worker's database and broker, and an instance directory of its own."""
    return {**worker_env, "INSTANCE_DIR": str(tmp_path)}


def worker_pids(server: GunicornServer) -> list[int]:
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text()
    return [int(pid) for pid in children.split()]


@pytest.mark.slow
def test_a_graceful_stop_under_load_ships_every_buffered_log(postgres_url, web_env):
    # A flush interval longer than the test: every log record is still in a buffer at SIGTERM.
    web = GunicornServer({**web_env, "LOG_FLUSH_SECONDS": "600", "LOG_BATCH_SIZE": "10000"}, free_port())
    web.start()
    try:
        start_two_versions(web.url)
        with PredictTraffic(web.url) as traffic:
            time.sleep(3)
            assert stored_prediction_ids(postgres_url, traffic.answered_ids()) == set()
            web.process.send_signal(signal.SIGTERM)  # the master only, as a process manager would
            assert web.process.wait(30) == 0
        expected = traffic.answered_ids()
        assert len(expected) >= 100
        missing = missing_after(postgres_url, expected, timeout=30)
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions lost on a graceful stop"
    finally:
        web.stop()


@pytest.mark.slow
def test_a_killed_web_worker_loses_at_most_its_last_flush_interval(postgres_url, web_env):
    flush_seconds = 1.0
    web = GunicornServer({**web_env, "LOG_FLUSH_SECONDS": str(flush_seconds)}, free_port())
    web.start()
    try:
        start_two_versions(web.url)
        with PredictTraffic(web.url) as traffic:
            time.sleep(3)
            killed_at = time.monotonic()
            os.kill(worker_pids(web)[0], signal.SIGKILL)
            wait_for(lambda: len(worker_pids(web)) == 2, timeout=30, what="gunicorn to replace the worker")
            time.sleep(2)

        expected = traffic.answered_ids()
        missing = missing_after(postgres_url, expected, timeout=10)
        answered_at = {answer.prediction_id: answer.answered_at for answer in traffic.answers}
        # A record is shipped within one flush interval of being buffered; allow half a second to ship.
        oldest_lost = min((answered_at[prediction_id] for prediction_id in missing), default=killed_at)
        assert oldest_lost >= killed_at - flush_seconds - 0.5, f"lost {len(missing)} of {len(expected)}"
        after = traffic.between(killed_at + 1, time.monotonic())
        assert sum(answer.status == 200 for answer in after) / len(after) >= 0.99
    finally:
        web.stop()
