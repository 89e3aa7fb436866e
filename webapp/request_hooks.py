"""What happens around every request: its Host checked, its id, its timing and, with LOG_REQUESTS,
its access-log line; every answer says `X-Content-Type-Options: nosniff`.

A WSGI middleware around the Flask app rather than Flask's before/after hooks: each hook costs
every request Flask's dispatch and an async check, and /predict is the hot path. It also times
the whole request, Flask's own context work included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Set
from typing import Any

from .audit.trail import REQUEST_ID_HEADER, request_id_of
from .config import host_name
from .logs import CURRENT_REQUEST_ID, REQUEST_ID_ENVIRON_KEY, log_access
from .metrics.instruments import observe_request

WsgiApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]
# The route template of a request answered before Flask's routing (webapp/predict/fastpath.py).
ROUTE_ENVIRON_KEY = "router.route"
NOSNIFF = ("X-Content-Type-Options", "nosniff")
# The metric's method label for a method no route takes (so made-up methods cannot grow the series).
OTHER_METHOD = "other"
# The one JSON error shape (webapp/errors.py), made once: this answer is given before Flask is involved.
_WRONG_HOST = (
    json.dumps(
        {
            "error": {
                "code": "bad_request",
                "message": (
                    "this service does not answer requests addressed to that host name; "
                    "list it in ALLOWED_HOSTS to serve it"
                ),
                "details": None,
            }
        },
        separators=(",", ":"),
    ).encode()
    + b"\n"
)


class RequestIdAndTimer:
    """Refuse a Host outside `served_hosts` (None: any); give every request an id (the client's
    X-Request-ID if sane) that its answer echoes; time it into router_http_request_duration_seconds
    by route template and method (`methods`: those the app routes; others count as "other");
    with `log_requests`, log it."""

    def __init__(
        self,
        wsgi_app: WsgiApp,
        log_requests: bool,
        served_hosts: Set[str] | None = None,
        methods: Set[str] = frozenset(),
    ) -> None:
        self.wsgi_app = wsgi_app
        self.log_requests = log_requests
        self.served_hosts = served_hosts
        self.methods = methods

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID_ENVIRON_KEY] = request_id_of(environ.get("HTTP_X_REQUEST_ID", ""))
        answered: list[tuple[str, str | None]] = []

        def start_with_id(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            route = environ.get(ROUTE_ENVIRON_KEY)
            if route is None:  # Flask's request is still in the environ here (it goes once the body is returned)
                rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
                route = rule.rule if rule is not None else None
            answered.append((status, route))
            headers.append((REQUEST_ID_HEADER, request_id))
            headers.append(NOSNIFF)
            return start_response(status, headers, exc_info)

        token = CURRENT_REQUEST_ID.set(request_id)
        try:
            if self.served_hosts is not None and not self._host_served(environ):
                body = self._wrong_host(start_with_id)
            else:
                body = self.wsgi_app(environ, start_with_id)
        finally:
            CURRENT_REQUEST_ID.reset(token)
        if answered:  # both Flask and the fast path start the response before they return the body
            status, route = answered[-1]
            self._observe(environ["REQUEST_METHOD"], route, int(status.split(" ", 1)[0]), started, request_id)
        return body

    def _host_served(self, environ: dict[str, Any]) -> bool:
        """Whether the Host header names a served host (DNS rebinding: a page on evil.example whose name
        now points at 127.0.0.1 reaches this service with `Host: evil.example`)."""
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        return host_name(host) in self.served_hosts  # type: ignore[operator]

    @staticmethod
    def _wrong_host(start_response: Callable) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(_WRONG_HOST)))]
        start_response("400 BAD REQUEST", headers)
        return [_WRONG_HOST]

    def _observe(self, method: str, route: str | None, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        observe_request(route or "unmatched", method if method in self.methods else OTHER_METHOD, status, seconds)
        if self.log_requests:
            log_access(method, route, status, seconds, request_id)
