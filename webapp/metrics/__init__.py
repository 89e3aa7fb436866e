"""Prometheus metrics: the instruments, their deferred updates, GET /metrics, the worker's metrics server."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)

from . import views  # noqa: E402, F401  (attaches the routes)
