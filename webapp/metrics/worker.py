"""The Celery worker's metrics endpoint: its own port, since it is not behind gunicorn."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def start_metrics_server(port: int, address: str = "0.0.0.0") -> None:
    """Serve this process's metrics at http://<address>:<port>/metrics from a daemon thread."""
    # Every interface: in compose, Prometheus scrapes the worker's container from outside it.
    start_http_server(port, addr=address)
    log.info("worker metrics on http://%s:%d/metrics", address, port)
