"""Process logging: human lines, or one JSON object per line (LOG_FORMAT=json), and the access log.

Every record made during a request carries that request's id (the X-Request-ID the answer echoes).
The access log names the route template, never the body or the headers: no API key and no
prediction text can reach it.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from .config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message"]
JSON_NAMES = {"asctime": "timestamp", "levelname": "level", "name": "logger"}
access_log = logging.getLogger("webapp.access")
# Where a request's id waits in its WSGI environ (webapp/request_hooks.py puts it there).
REQUEST_ID_ENVIRON_KEY = "router.request_id"
# The id of the request this thread is serving, for log lines made on either path to /predict's answer
# (Flask's, or the fast path's, which has no request context). Set by webapp/request_hooks.py.
CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request's id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):  # the access log passes it: its line follows the request
            record.request_id = CURRENT_REQUEST_ID.get()
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per record: timestamp, level, logger, message, request_id and any extras."""
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, datefmt="%Y-%m-%dT%H:%M:%S%z")


def log_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler in `log_format` ("json" or "text") that adds the request id."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.router_handler = True  # type: ignore[attr-defined]
    return handler


def configure_logging(settings: Settings) -> None:
    """Install the handler for LOG_FORMAT on the root logger, once per process."""
    root = logging.getLogger()
    if settings.log_format == "text" and root.handlers:
        return  # someone (pytest, an embedding program) already chose; text adds nothing to it
    for handler in [h for h in root.handlers if getattr(h, "router_handler", False)]:
        root.removeHandler(handler)
    if settings.log_format == "json" or not root.handlers:
        root.addHandler(log_handler(settings.log_format))
        root.setLevel(logging.INFO)


def log_access(method: str, route: str | None, status: int, seconds: float, request_id: str) -> None:
    """With LOG_REQUESTS, one line per answered request: id, method, route, status, duration."""
    access_log.info(
        "%s %s %s",
        method,
        route or "(no route)",
        status,
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        },
    )
