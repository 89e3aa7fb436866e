"""GET /metrics: Prometheus counts in one process, and across gunicorn workers, dead ones included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.api import activate, predict, register
from tests.apps import make_settings, shutdown
from tests.http_client import call
from tests.support import CeleryWorker, GunicornServer, free_port, new_vhost, wait_for
from webapp import create_app
from webapp.metrics.pending import PendingUpdates
from webapp.tasks import REFRESH_STATS_TASK


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def total(text: str, name: str, **labels: str) -> float:
    return sum(value for sample, got, value in samples(text) if sample == name and labels.items() <= got.items())


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def grew(before: str, after: str, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_each_prediction_is_counted_by_version_routing_and_label(client):
    activate(client, register(client)["model_id"], 100)
    before = scrape(client)
    for user in range(5):
        predict(client, "I love this!", user_id=f"user-{user}")
    predict(client, "I love this!", model_version="1.0.0")
    after = scrape(client)
    sticky = {"model": "sentiment", "version": "1.0.0", "routing": "sticky", "label": "positive"}
    assert grew(before, after, "router_predictions_total", **sticky) == 5
    assert grew(before, after, "router_predictions_total", **{**sticky, "routing": "explicit"}) == 1
    assert grew(before, after, "router_inference_seconds_count", model="sentiment", version="1.0.0") == 6
    # The log buffer tells its count once a cycle (a second), not per record.
    wait_for(
        lambda: grew(before, scrape(client), "router_log_records_total", state="buffered") == 6,
        timeout=5,
        what="the buffered count",
    )


def test_requests_are_timed_by_route_template_method_and_status(client):
    before = scrape(client)
    client.get("/models/00000000-0000-0000-0000-000000000000")
    after = scrape(client)
    labels = {"endpoint": "/models/<uuid:model_id>", "method": "GET", "status": "404"}
    assert grew(before, after, "router_http_request_duration_seconds_count", **labels) == 1


def test_pending_updates_write_exactly_what_direct_updates_would():
    direct, deferred = CollectorRegistry(), CollectorRegistry()
    buckets = (0.001, 0.01, 0.1)
    counter = {r: Counter("hits", "h", ["kind"], registry=r) for r in (direct, deferred)}
    histogram = {r: Histogram("seconds", "s", ["kind"], buckets=buckets, registry=r) for r in (direct, deferred)}
    values = [0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.2, 7.0]  # on, between and beyond the bounds
    pending = PendingUpdates(flush_seconds=3600)
    for value in values:
        counter[direct].labels("a").inc(2)
        histogram[direct].labels("a").observe(value)
        pending.inc(counter[deferred].labels("a"), 2)
        pending.observe(histogram[deferred].labels("a"), value)
    assert total(generate_latest(deferred).decode(), "hits_total") == 0  # not written yet
    pending.flush()
    written = [s for s in samples(generate_latest(deferred).decode()) if not s[0].endswith("_created")]
    assert written == [s for s in samples(generate_latest(direct).decode()) if not s[0].endswith("_created")]
    assert total(generate_latest(deferred).decode(), "seconds_bucket", le="0.01") == 4
    pending.flush()  # nothing twice
    assert total(generate_latest(deferred).decode(), "hits_total") == 16


def test_the_routing_config_version_is_the_one_this_process_serves(app, client):
    activate(client, register(client)["model_id"], 100)
    served = app.extensions["router"].table().version
    assert total(scrape(client), "router_routing_config_version") == served


def worker_pids(server: GunicornServer) -> set[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return {int(pid) for pid in listed.stdout.split()}


def send_predictions(url: str, count: int) -> None:
    """Send `count` predictions from 8 threads, so that both sync workers take some."""

    def one(index: int) -> int:
        return call(url, "POST", "/predict", {"text": "a fine day", "user_id": f"u{index}"})[0]

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def predictions_by_pid(directory: Path) -> dict[int, float]:
    """What each gunicorn worker's own file holds: proof of who counted what."""
    counted: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            if json.loads(key)[1] == "router_predictions_total" and value:
                counted[pid] = counted.get(pid, 0.0) + value
    return counted


def scrape_url(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        return response.read().decode()


@pytest.mark.slow
def test_gunicorn_workers_are_counted_once_each_and_a_killed_workers_counts_are_kept(app, client, tmp_path):
    settings = app.extensions["settings"]
    directory = tmp_path / "metrics"
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CELERY_BROKER_URL": settings.broker_url,
        "INSTANCE_DIR": str(settings.instance_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    activate(client, register(client)["model_id"], 100)
    server = GunicornServer(env, free_port(), workers=2)
    server.start()
    try:
        wait_for(lambda: len(worker_pids(server)) == 2, timeout=20, what="two gunicorn workers")
        sent = 0
        while sent < 2000 and len(predictions_by_pid(directory)) < 2:  # the kernel may favour one worker
            send_predictions(server.url, 50)
            sent += 50
        # Each worker writes its updates once a second (webapp/metrics/pending.py).
        wait_for(lambda: sum(predictions_by_pid(directory).values()) == sent, timeout=5, what="the metric files")
        by_pid = predictions_by_pid(directory)
        assert len(by_pid) == 2 and sum(by_pid.values()) == sent, by_pid
        assert total(scrape_url(server.url), "router_predictions_total") == sent

        victim = max(by_pid, key=by_pid.get)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(worker_pids(server) - {victim}) == 2, timeout=30, what="a replacement worker")
        send_predictions(server.url, 50)
        wait_for(lambda: sum(predictions_by_pid(directory).values()) == sent + 50, timeout=5, what="the new counts")
        assert total(scrape_url(server.url), "router_predictions_total") == sent + 50, server.tail(40)
        wait_for(
            lambda: (
                total(scrape_url(server.url), "router_http_request_duration_seconds_count", endpoint="/predict")
                == sent + 50
            ),
            timeout=5,
            what="every request timed",
        )
    finally:
        server.stop()


def worker_total(port: int, name: str) -> float:
    try:
        return total(scrape_url(f"http://127.0.0.1:{port}"), name)
    except OSError:
        return -1.0  # not serving yet


@pytest.mark.slow
def test_the_worker_serves_its_batch_writes_and_refreshes_on_its_own_port(app, worker_env, broker_url, tmp_path):
    # A vhost of its own: on the session's, the shared worker could take the batch and the refresh.
    own = {**worker_env, "CELERY_BROKER_URL": new_vhost(broker_url, "metrics")}
    port = free_port()
    worker = CeleryWorker({**own, "METRICS_PORT": str(port), "LOG_FORMAT": "json"})
    worker.start()
    publishing = create_app(
        make_settings(
            tmp_path,
            DATABASE_URL=own["DATABASE_URL"],
            REDIS_URL=own["REDIS_URL"],
            CELERY_BROKER_URL=own["CELERY_BROKER_URL"],
        )
    )
    client = publishing.test_client()
    try:
        assert '"logger": "celery' in worker.tail(200), "the worker logs JSON lines"
        activate(client, register(client)["model_id"], 100)
        for user in range(25):
            predict(client, "good", user_id=f"u{user}")
        publishing.extensions["log_buffer"].flush()
        wait_for(lambda: worker_total(port, "router_worker_rows_written_total") == 25, timeout=30, what="rows")
        assert worker_total(port, "router_worker_batches_written_total") >= 1
        assert worker_total(port, "router_worker_batch_write_seconds_count") >= 1
        celery = publishing.extensions["celery"]

        def refreshed_all() -> bool:
            celery.send_task(REFRESH_STATS_TASK)  # again each poll: another run's transaction may hold rows back
            return worker_total(port, "router_stats_refresh_rows_total") == 25

        wait_for(refreshed_all, timeout=30, interval=0.5, what="the refresh to fold the rows")
        assert worker_total(port, "router_stats_refresh_seconds_count") >= 1
    finally:
        worker.stop()
        shutdown(publishing)
