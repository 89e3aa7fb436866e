"""A trained model served by gunicorn with two workers: after one PUT and one split change both
workers answer with it, and its answers are the pipeline's own; a damaged cache file is caught by
its hash and fetched again; requests read nothing from disk.

Real Postgres (the artifact's chunks), Redis (the routing config), RabbitMQ (the prediction logs),
and gunicorn with 2 workers sharing one host cache under INSTANCE_DIR/artifacts. The model is
`fit_text_pipeline` on both shared human-rated sets, saved with skops: the issue's ~10 MB file.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.artifact_models import (
    counter_by_pid,
    file_sha256,
    first_time_each_worker,
    full_pipeline,
    full_pipeline_file,
    ok,
    predict,
    put_artifact,
    sample_texts,
    scrape_total,
    sha256_of,
    worker_pids,
)
from tests.http_client import call, reachable
from tests.support import GunicornServer, free_port, wait_for

pytestmark = pytest.mark.slow

# The target is 2 s for the 10 MB file; a loaded 2-core machine gets a wide margin.
SERVING_DEADLINE_SECONDS = 6.0
CANDIDATE = "3.0.0"


@dataclass
class Web:
    server: GunicornServer
    instance_dir: Path
    metrics_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def cache_dir(self) -> Path:
        return self.instance_dir / "artifacts"


@pytest.fixture(scope="module")
def model():
    """(pipeline, its skops bytes, their sha256, 50 shared texts, the pipeline's label for each)."""
    pipeline, data = full_pipeline(), full_pipeline_file()
    texts = sample_texts(50)
    expected = dict(zip(texts, (str(label) for label in pipeline.predict(texts)), strict=True))
    assert len(set(expected.values())) == 3, "the sample should draw every label from the pipeline"
    return pipeline, data, sha256_of(data), texts, expected


@pytest.fixture
def web(app, postgres_url, redis_url, broker_url, tmp_path):
    """gunicorn with 2 workers on emptied tables, its own host cache and metrics directory."""
    instance_dir, metrics_dir = tmp_path / "web", tmp_path / "metrics"
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "INSTANCE_DIR": str(instance_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "STATS_REFRESH_SECONDS": "3600",
        "BROKER_TIMEOUT_SECONDS": "3",  # a loaded 2-core machine opens broker connections slowly
    }
    server = GunicornServer(env, free_port(), workers=2)
    server.start()
    try:
        wait_for(lambda: reachable(server.url), timeout=30, what="gunicorn")
        wait_for(lambda: len(worker_pids(server)) == 2, timeout=30, what="two gunicorn workers")
        yield Web(server, instance_dir, metrics_dir)
    finally:
        server.stop()


def register_baseline_and_candidate(url: str) -> str:
    """sentiment 2.0.0 (textblob-advanced) at 100%, and 3.0.0 (sklearn, no file yet); 3.0.0's id."""
    baseline = ok(url, "POST", "/models", {"name": "sentiment", "version": "2.0.0", "algorithm": "textblob-advanced"},
                  status=201)  # fmt: skip
    ok(url, "POST", f"/models/{baseline['model_id']}/activate", {"percent": 100})
    candidate = ok(url, "POST", "/models", {"name": "sentiment", "version": CANDIDATE, "algorithm": "sklearn"},
                   status=201)  # fmt: skip
    assert candidate["artifact"] is None
    return candidate["model_id"]


def serving(sha256: str, config_version: int):
    """A worker's routing status serves the version: the config that routes to it, its model loaded."""
    return lambda status: (status["config_version"] or 0) >= config_version and sha256 in status["loaded_artifacts"]


def every_worker_serves_the_routing_config(web: Web) -> set[int]:
    """Both workers' routers started (on their first /predict) and on the current config; their pids."""
    pids = worker_pids(web.server)
    current = ok(web.url, "GET", "/models/sentiment/split")["config_version"]
    first_time_each_worker(web.url, pids, lambda status: status["config_version"] == current, 30, nudge=True)
    return pids


@dataclass(frozen=True)
class Change:
    started: float  # before the PUT
    uploaded: float  # after it
    changed: float  # after the split change
    config_version: int


def upload_and_route(web: Web, model_id: str, data: bytes) -> Change:
    """One PUT of the file, one split change to it, timed."""
    started = time.monotonic()
    status, body = put_artifact(web.url, model_id, data)
    uploaded = time.monotonic()
    assert status == 200, body
    assert body["artifact"]["sha256"] == sha256_of(data) and body["artifact"]["size_bytes"] == len(data)
    split = ok(web.url, "PUT", "/models/sentiment/split", {"weights": {CANDIDATE: 100}})
    return Change(started, uploaded, time.monotonic(), split["config_version"])


def answers_from_both_workers(web: Web, pids: set[int], texts: list[str], expected: dict[str, str]) -> int:
    """Send the texts in rounds (4 clients) until each worker in `pids` has answered some with the
    candidate, as its own Prometheus file counts; every answer must be the pipeline's label."""
    before = counter_by_pid(web.metrics_dir, "router_predictions_total", version=CANDIDATE)
    sent = 0
    for round_ in range(20):  # the kernel may hand most connections to one worker
        users = [f"user-{round_}-{number}" for number in range(len(texts))]
        with ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(lambda text, user: predict(web.url, text, user_id=user), texts, users))
        answers = list(zip(texts, bodies, strict=True))
        sent += len(answers)
        wrong = [(text, body) for text, body in answers if (body["model_version"], body["prediction"]) !=
                 (CANDIDATE, expected[text])]  # fmt: skip
        assert not wrong, f"{len(wrong)} answers differ from the pipeline's predict, e.g. {wrong[:3]}"

        def grew() -> set[int]:  # each worker writes its counts once a second (webapp/metrics/pending.py)
            now = counter_by_pid(web.metrics_dir, "router_predictions_total", version=CANDIDATE)
            return {pid for pid in pids if now.get(pid, 0) > before.get(pid, 0)}

        deadline = time.monotonic() + 3
        while grew() != pids and time.monotonic() < deadline:
            time.sleep(0.2)
        if grew() == pids:
            return sent
    pytest.fail(f"after {sent} requests, not every worker of {sorted(pids)} answered with {CANDIDATE}")


class Traffic:
    """One client posting the texts in turn until stopped, every answer kept: requests that arrive
    while the workers switch to the new version (a context manager)."""

    def __init__(self, url: str, texts: list[str]) -> None:
        self.url, self.texts = url, texts
        self.answers: list[tuple[str, int | None, dict | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            text = self.texts[number % len(self.texts)]
            try:
                status, body = call(self.url, "POST", "/predict", {"text": text, "user_id": f"t{number}"}, timeout=30)
            except OSError:
                status, body = None, None
            self.answers.append((text, status, body))
            number += 1


def test_both_workers_serve_a_new_model_after_one_put_and_one_split_change(web, model):
    _, data, sha256, texts, expected = model
    model_id = register_baseline_and_candidate(web.url)
    pids = every_worker_serves_the_routing_config(web)

    with Traffic(web.url, texts) as traffic:
        change = upload_and_route(web, model_id, data)
        # Besides that one client, only /health is asked: each worker's watcher finds the change itself.
        served_at = first_time_each_worker(web.url, pids, serving(sha256, change.config_version), timeout=30)
    # A request during the switch is answered by 2.0.0 or by the loaded model, never fails nor waits for a load.
    failed = [(status, body) for _, status, body in traffic.answers if status != 200]
    assert not failed, f"{len(failed)} of {len(traffic.answers)} requests during the switch failed: {failed[:3]}"
    wrong = [(text, body) for text, _, body in traffic.answers
             if body["model_version"] == CANDIDATE and body["prediction"] != expected[text]]  # fmt: skip
    assert not wrong, wrong[:3]
    by_version = Counter(body["model_version"] for _, _, body in traffic.answers)
    slowest = max(body["latency_ms"] for _, _, body in traffic.answers)
    assert slowest < 200, f"a request took {slowest} ms in its model: a load in the request path?"

    all_serving = max(served_at.values())
    after_change, after_put = all_serving - change.changed, all_serving - change.started
    print(
        f"\n{len(data) / 1e6:.1f} MB model: every worker serving it {after_change:.2f} s after the PUT and split "
        f"returned, {after_put:.2f} s from the start of the PUT (target 2 s): "
        f"PUT {change.uploaded - change.started:.2f} s, split {change.changed - change.uploaded:.2f} s, each worker at "
        f"{sorted(round(at - change.changed, 2) for at in served_at.values())} s after the split; "
        f"answers meanwhile {dict(by_version)}, slowest model time {slowest} ms"
    )
    assert after_change < SERVING_DEADLINE_SECONDS, (after_change, after_put)

    sent = answers_from_both_workers(web, pids, texts, expected) + by_version[CANDIDATE]
    wait_for(
        lambda: sum(counter_by_pid(web.metrics_dir, "router_predictions_total", version=CANDIDATE).values()) == sent,
        timeout=5,
        what="every answer counted",
    )
    # The upload's worker kept the checked file; the other found it in the host cache: no fetch, no failure.
    assert scrape_total(web.url, "router_artifact_cache_total", result="fetched") == 0
    assert scrape_total(web.url, "router_artifact_load_failures_total") == 0
    assert file_sha256(web.cache_dir / f"{sha256}.skops") == sha256


def test_a_damaged_cache_file_is_caught_by_its_hash_and_fetched_again(web, model):
    _, data, sha256, texts, expected = model
    model_id = register_baseline_and_candidate(web.url)
    every_worker_serves_the_routing_config(web)
    config_version = upload_and_route(web, model_id, data).config_version
    pids = worker_pids(web.server)
    first_time_each_worker(web.url, pids, serving(sha256, config_version), timeout=30)

    cached = web.cache_dir / f"{sha256}.skops"
    damaged = bytearray(cached.read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 4096] = bytes(4096)  # same size, 4 KiB zeroed mid-file
    cached.write_bytes(bytes(damaged))
    assert file_sha256(cached) != sha256

    # A worker dies; gunicorn's replacement must load the model from this host's cache before serving.
    victim = max(pids)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(worker_pids(web.server) - pids) == 1 and len(worker_pids(web.server)) == 2,
             timeout=30, what="a replacement worker")  # fmt: skip
    (replacement,) = worker_pids(web.server) - pids
    survivor = (pids - {victim}).pop()
    first_time_each_worker(web.url, {replacement}, serving(sha256, config_version), timeout=30, nudge=True)

    by_pid = {result: counter_by_pid(web.metrics_dir, "router_artifact_cache_total", result=result)
              for result in ("hit", "damaged", "fetched")}  # fmt: skip
    assert by_pid["damaged"].get(replacement) == 1 and by_pid["fetched"].get(replacement) == 1, by_pid
    assert file_sha256(cached) == sha256  # the host's copy is whole again
    assert scrape_total(web.url, "router_artifact_load_failures_total") == 0
    answers_from_both_workers(web, {survivor, replacement}, texts, expected)


def test_requests_read_no_model_file_once_the_model_is_loaded(web, model):
    _, data, sha256, texts, expected = model
    model_id = register_baseline_and_candidate(web.url)
    pids = every_worker_serves_the_routing_config(web)
    config_version = upload_and_route(web, model_id, data).config_version
    first_time_each_worker(web.url, pids, serving(sha256, config_version), timeout=30)

    asked_before = scrape_total(web.url, "router_artifact_cache_total")
    shutil.rmtree(web.cache_dir)  # nothing on disk to read: the models are in the workers' memory
    answers_from_both_workers(web, pids, texts, expected)
    time.sleep(1.5)  # past a few of the watchers' polls: nothing comes to fetch it back either
    assert scrape_total(web.url, "router_artifact_cache_total") == asked_before
    assert scrape_total(web.url, "router_artifact_load_failures_total") == 0
    assert not web.cache_dir.exists()
