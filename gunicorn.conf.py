"""Gunicorn settings, read automatically by `gunicorn wsgi:app` from the project root."""

import gc
import os
import sys
import tempfile
from pathlib import Path

# This machine only unless BIND says otherwise (compose sets 0.0.0.0:8000); honcho's PORT is not read.
bind = [os.environ.get("BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# Long enough for a worker to finish its request and ship its log buffer on SIGTERM.
graceful_timeout = 20
accesslog = os.environ.get("ACCESS_LOG") or None

if os.environ.get("LOG_FORMAT") == "json":
    # gunicorn's own lines (workers booting, dying) as JSON objects too, like the app's (webapp/logs.py).
    _json = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": ["asctime", "levelname", "name", "message"],
        "rename_fields": {"asctime": "timestamp", "levelname": "level", "name": "logger"},
        "datefmt": "%Y-%m-%dT%H:%M:%S%z",
    }
    logconfig_dict = {
        # The root logger is the app's (webapp/logs.py adds its JSON handler): none here, or lines double.
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            # The app writes the access log (LOG_REQUESTS, with the request id); gunicorn's only with ACCESS_LOG.
            "gunicorn.access": {"level": "INFO", "handlers": ["console"] if accesslog else [], "propagate": False},
        },
        "formatters": {"json": _json},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
    }

# Prometheus multiprocess mode: every worker keeps its metrics in files here, and /metrics sums them,
# those of dead workers included. Set before any worker imports prometheus_client; one directory per
# master (its pid), so two servers on one machine never add up each other's counts.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"router-metrics-{os.getpid()}"))


def on_starting(server):
    """Start from an empty metrics directory: counts from a previous run would be added to ours."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # only prometheus_client's files, whatever else lives there
        stale.unlink()


def on_exit(server):
    """Leave no metric files behind: the next master starts from zero anyway."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for stale in directory.glob("*.db"):
        stale.unlink()
    if directory.name.startswith("router-metrics-") and not any(directory.iterdir()):
        directory.rmdir()


def child_exit(server, worker):
    """Drop a dead worker's live-only gauges; its counters and histograms stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Ship the worker's buffered prediction logs, then write its pending metric updates (the
    shipping counts included), before it goes (SIGTERM, max_requests, reload)."""
    app = getattr(worker, "wsgi", None)
    log_buffer = getattr(app, "extensions", {}).get("log_buffer")
    if log_buffer is not None:
        log_buffer.close()
    pending = sys.modules.get("webapp.metrics.pending")
    if pending is not None:
        pending.PENDING.flush()


def post_worker_init(worker):
    """Freeze what loading the app allocated out of the collector's reach.

    The modules, the model's lexicon and the app live as long as the worker, yet every full
    collection walked them all: 250-280 ms per collection in a loaded web worker, a stall for every
    request it held. Buffered log records survive long enough to be promoted, so full collections
    keep coming. Frozen, a full collection walks only what came after: 1.3 ms.
    """
    gc.freeze()
