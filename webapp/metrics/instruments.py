"""Every Prometheus metric the service exports, and cheap ways to update them.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set before the app is imported (gunicorn.conf.py), so
prometheus_client keeps each value in an mmap'd file per process and /metrics sums the files of
live and dead workers alike. The worker process exports its own on METRICS_PORT (webapp/metrics/
worker.py). Label children are bound once and kept, and the web's per-request updates wait in
process memory for a once-a-second write (`pending.py`), so the hot path is a dict lookup and an add.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

from .pending import PENDING

# Inference takes 0.1 to 5 ms; the buckets are fine there and coarse beyond.
INFERENCE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BATCH_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REFRESH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

PREDICTIONS = Counter(
    "router_predictions",
    "Predictions answered, by version, routing method and label",
    ["model", "version", "routing", "label"],
)
INFERENCE_SECONDS = Histogram(
    "router_inference_seconds", "Model inference time", ["model", "version"], buckets=INFERENCE_BUCKETS
)
HTTP_SECONDS = Histogram(
    "router_http_request_duration_seconds",
    "Time from the request's start to its answer, by route",
    ["endpoint", "method", "status"],
    buckets=HTTP_BUCKETS,
)
LOG_RECORDS = Counter(
    "router_log_records",
    "Records of each stream (prediction_logs, feedback, errors) by what became of them in the web processes",
    ["stream", "state"],
)
CONFIG_VERSION = Gauge(
    "router_routing_config_version", "The routing-config version live web processes serve", multiprocess_mode="livemax"
)
ROWS_WRITTEN = Counter("router_worker_rows_written", "Prediction log rows the worker inserted")
BATCHES_WRITTEN = Counter("router_worker_batches_written", "Prediction log batches the worker stored")
BATCH_SECONDS = Histogram("router_worker_batch_write_seconds", "Time to store one batch", buckets=BATCH_BUCKETS)
REJECTED_BATCHES = Counter("router_worker_rejected_batches", "Batches with at least one record rejected as malformed")
REJECTED_RECORDS = Counter("router_worker_rejected_records", "Log records rejected as malformed")
SPOOL_DAMAGED_LINES = Counter(
    "router_spool_damaged_lines",
    "Unreadable spool lines set aside (in the spool's damaged/ directory) so the rest could be re-published",
    ["stream"],
)
ARTIFACT_CACHE = Counter(
    "router_artifact_cache",
    "Artifact files a web process asked its host's cache for: hit, fetched from the store, or damaged (fetched again)",
    ["result"],
)
ARTIFACT_LOAD_FAILURES = Counter(
    "router_artifact_load_failures",
    "Routing configs not applied because an artifact they name could not be loaded (the previous config kept serving)",
)
ROUTING_BEHIND = Gauge(
    "router_routing_config_behind",
    "1 while a web process serves an older routing config than the newest, because it could not apply it",
    multiprocess_mode="livemax",
)
REFRESH_SECONDS = Histogram("router_stats_refresh_seconds", "Duration of one stats refresh", buckets=REFRESH_BUCKETS)
REFRESH_ROWS = Counter("router_stats_refresh_rows", "Prediction log rows folded into the statistics")

LOG_STATES = ("buffered", "published", "spooled", "dropped", "respooled_published")
_log_children: dict[tuple[str, str], Any] = {}
_prediction_children: dict[tuple[str, str, str, str], Any] = {}
_inference_children: dict[tuple[str, str], Any] = {}
_http_children: dict[tuple[str, str, int], Any] = {}


def count_prediction(model: str, version: str, routing: str, label: str, inference_seconds: float) -> None:
    """One answered prediction: its count and its inference time."""
    key = (model, version, routing, label)
    child = _prediction_children.get(key)
    if child is None:
        child = _prediction_children[key] = PREDICTIONS.labels(*key)
    PENDING.inc(child)
    timer = _inference_children.get(key[:2])
    if timer is None:
        timer = _inference_children[key[:2]] = INFERENCE_SECONDS.labels(model, version)
    PENDING.observe(timer, inference_seconds)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """One answered HTTP request."""
    key = (endpoint, method, status)
    child = _http_children.get(key)
    if child is None:
        child = _http_children[key] = HTTP_SECONDS.labels(endpoint, method, str(status))
    PENDING.observe(child, seconds)


def count_log_records(stream: str, state: str, amount: int) -> None:
    """Records of `stream` that reached `state` (buffered, published, spooled, dropped, respooled_published)."""
    child = _log_children.get((stream, state))
    if child is None:
        if state not in LOG_STATES:
            raise ValueError(f"unknown log record state {state!r}")
        child = _log_children[stream, state] = LOG_RECORDS.labels(stream=stream, state=state)
    PENDING.inc(child, amount)


def count_spool_damaged(stream: str, lines: int) -> None:
    """Spool lines of `stream` (prediction_logs, feedback, errors) set aside as unreadable: rare, so written at once."""
    SPOOL_DAMAGED_LINES.labels(stream=stream).inc(lines)


def observe_config_version(version: int) -> None:
    """The routing-config version this process now serves."""
    CONFIG_VERSION.set(version)


def observe_batch(inserted: int, rejected: int, seconds: float) -> None:
    """One prediction log batch the worker stored."""
    BATCHES_WRITTEN.inc()
    ROWS_WRITTEN.inc(inserted)
    BATCH_SECONDS.observe(seconds)
    if rejected:
        REJECTED_BATCHES.inc()
        REJECTED_RECORDS.inc(rejected)


def observe_refresh(rows: int, seconds: float) -> None:
    """One stats refresh."""
    REFRESH_SECONDS.observe(seconds)
    REFRESH_ROWS.inc(rows)


def collected_registry() -> CollectorRegistry:
    """Every web process's metrics under gunicorn (the files of live and dead ones alike), else this process's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def stream_counts(stream: str) -> dict[str, int]:
    """What became of `stream`'s records, summed over every web process (for /health): each of
    LOG_STATES, and `damaged_lines`, the spool lines set aside as unreadable."""
    PENDING.flush()  # this process's updates of the last second; the others' lag by at most that
    counts = dict.fromkeys((*LOG_STATES, "damaged_lines"), 0)
    for family in collected_registry().collect():
        for sample in family.samples:
            if sample.labels.get("stream") != stream:
                continue
            if sample.name == "router_log_records_total":
                counts[sample.labels["state"]] += int(sample.value)
            elif sample.name == "router_spool_damaged_lines_total":
                counts["damaged_lines"] += int(sample.value)
    return counts
