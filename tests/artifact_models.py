"""Helpers for the artifact tests on the real stack: the shared data's pipeline, gunicorn workers seen
one by one through /health, and per-worker Prometheus counts read from the multiprocess directory."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import skops.io
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from sklearn.pipeline import Pipeline

from tests.http_client import call
from tests.support import IN_CI, GunicornServer
from webapp.artifacts.training import fit_text_pipeline
from webapp.cli.datasets import DataDirMissing, LabelledText, load_labelled_sets


def shared_sets() -> dict[str, list[LabelledText]]:
    """The human-rated sets; a test needing them fails under CI when they are missing, else skips."""
    try:
        return load_labelled_sets()
    except DataDirMissing as error:
        if IN_CI:
            pytest.fail(f"human-rated sets missing under CI: {error}", pytrace=False)
        pytest.skip(f"human-rated sets not available: {error}")


@functools.cache
def full_pipeline() -> Pipeline:
    """`fit_text_pipeline` on every row of both shared sets: the issue's ~10 MB model."""
    sets = shared_sets()
    return fit_text_pipeline([(row.text, row.label) for name in sorted(sets) for row in sets[name]])


@functools.cache
def full_pipeline_file() -> bytes:
    return skops.io.dumps(full_pipeline())


def sample_texts(count: int = 50) -> list[str]:
    """`count` texts spread over both shared sets (every n-th row), the same each run."""
    sets = shared_sets()
    rows = [row.text for name in sorted(sets) for row in sets[name]]
    return rows[:: len(rows) // count][:count]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_artifact(base_url: str, model_id: str, data: bytes, timeout: float = 60) -> tuple[int, Any]:
    """PUT /models/<id>/artifact with the file as the body, as a client would."""
    request = urllib.request.Request(f"{base_url}/models/{model_id}/artifact", data=data, method="PUT")
    request.add_header("Content-Type", "application/octet-stream")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def ok(base_url: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    answer = call(base_url, method, path, body, timeout=60)
    assert answer[0] == status, answer
    return answer[1]


def worker_pids(server: GunicornServer) -> set[int]:
    """The pids of the gunicorn master's children: its workers."""
    assert server.process is not None
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return {int(pid) for pid in listed.stdout.split()}


def routing_status(base_url: str) -> dict | None:
    """/health's routing status of whichever worker answers (its `pid` says which); None on no answer."""
    try:
        _, body = call(base_url, "GET", "/health", timeout=10)
    except OSError:
        return None
    if not isinstance(body, dict):
        return None
    # A 503 (a component down) carries the same components in its error's details.
    components = body.get("components") or (body.get("error") or {}).get("details", {}).get("components") or {}
    return components.get("routing")


def first_time_each_worker(
    base_url: str,
    pids: set[int],
    condition: Callable[[dict], bool],
    timeout: float,
    threads: int = 2,
    nudge: bool = False,
) -> dict[int, float]:
    """Ask /health from `threads` clients until every pid in `pids` has reported a routing status
    for which `condition` holds; each pid's first such time.monotonic() (the answer's arrival).

    A worker loads its routing table on its first /predict: with `nudge`, each poll sends one first.
    Fails the test after `timeout` seconds, naming the workers that never did.
    """
    first: dict[int, float] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + timeout
    last: dict[int, dict] = {}

    def poll() -> None:
        while time.monotonic() < deadline:
            with lock:
                if pids <= first.keys():
                    return
            if nudge:
                with contextlib.suppress(OSError):
                    call(base_url, "POST", "/predict", {"text": "a nudge"}, timeout=10)
            status = routing_status(base_url)
            arrived = time.monotonic()
            if status is None:
                time.sleep(0.05)
                continue
            with lock:
                last[status["pid"]] = status
                if status["pid"] in pids and status["pid"] not in first and condition(status):
                    first[status["pid"]] = arrived
            time.sleep(0.01)  # a pause: the polls must not starve the watcher threads they wait for

    workers = [threading.Thread(target=poll, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if not pids <= first.keys():
        pytest.fail(f"workers {sorted(pids - first.keys())} never reported it in {timeout}s; last seen: {last}")
    return first


def counter_by_pid(directory: Path, name: str, **labels: str) -> dict[int, float]:
    """A counter's value in each gunicorn worker's own file under PROMETHEUS_MULTIPROC_DIR, the
    samples whose labels include `labels` summed: proof of which process counted what."""
    counted: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, sample_labels, _ = json.loads(key)
            if sample == name and labels.items() <= sample_labels.items() and value:
                counted[pid] = counted.get(pid, 0.0) + value
    return counted


def scrape_total(base_url: str, name: str, **labels: str) -> float:
    """A metric's total over every gunicorn worker, as GET /metrics adds them up."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def predict(base_url: str, text: str, **fields: Any) -> dict:
    status, body = call(base_url, "POST", "/predict", {"text": text, **fields}, timeout=30)
    assert status == 200, (status, body)
    return body


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
