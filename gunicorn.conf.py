"""Gunicorn settings, read automatically by `gunicorn wsgi:app` from the project root."""

import os

bind = [os.environ.get("BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# Long enough for a worker to finish its request and ship its log buffer on SIGTERM.
graceful_timeout = 20
accesslog = os.environ.get("ACCESS_LOG") or None


def worker_exit(server, worker):
    """Ship the worker's buffered prediction logs before it goes (SIGTERM, max_requests, reload)."""
    app = getattr(worker, "wsgi", None)
    log_buffer = getattr(app, "extensions", {}).get("log_buffer")
    if log_buffer is not None:
        log_buffer.close()
