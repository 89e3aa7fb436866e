"""GET /metrics: the Prometheus metrics, summed across every web process."""

from __future__ import annotations

import os

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ..contract import endpoint
from . import bp
from .pending import PENDING

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@bp.get("/metrics")
@endpoint(
    "read",
    "Prometheus metrics of every web process (text exposition format)",
    tag="system",
    description="Counted across all gunicorn workers, dead ones included. The worker serves its own on METRICS_PORT.",
)
def metrics():
    PENDING.flush()  # this process's own updates of the last second; the others' lag by at most that
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY  # one process (tests, `flask run`): its own values
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry
