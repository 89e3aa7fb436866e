"""Prometheus metrics: GET /metrics, and the hooks that time every request."""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ..contract import endpoint
from .instruments import observe_request

bp = Blueprint("metrics", __name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@bp.get("/metrics")
@endpoint(
    "read",
    "Prometheus metrics of every web process (text exposition format)",
    tag="system",
    description="Counted across all gunicorn workers, dead ones included. The worker serves its own on METRICS_PORT.",
)
def metrics():
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY  # one process (tests, `flask run`): its own values
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def register_request_timing(app: Flask) -> None:
    """Time every request into router_http_request_duration_seconds, by route template."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            g.request_seconds = time.perf_counter() - started
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            observe_request(route, request.method, response.status_code, g.request_seconds)
        return response
