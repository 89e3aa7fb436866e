"""What happens around every request: its id, its timing and, with LOG_REQUESTS, its access-log line.

A WSGI middleware around the Flask app rather than Flask's before/after hooks: each hook costs
every request Flask's dispatch and an async check, and /predict is the hot path. It also times
the whole request, Flask's own context work included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .audit.trail import REQUEST_ID_HEADER, request_id_of
from .logs import CURRENT_REQUEST_ID, REQUEST_ID_ENVIRON_KEY, log_access
from .metrics.instruments import observe_request

WsgiApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]
# The route template of a request answered before Flask's routing (webapp/predict/fastpath.py).
ROUTE_ENVIRON_KEY = "router.route"


class RequestIdAndTimer:
    """Give every request an id (the client's X-Request-ID if sane) that its answer echoes; time it
    into router_http_request_duration_seconds by route template; with `log_requests`, log it."""

    def __init__(self, wsgi_app: WsgiApp, log_requests: bool) -> None:
        self.wsgi_app = wsgi_app
        self.log_requests = log_requests

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
            return start_response(status, headers, exc_info)

        token = CURRENT_REQUEST_ID.set(request_id)
        try:
            body = self.wsgi_app(environ, start_with_id)
        finally:
            CURRENT_REQUEST_ID.reset(token)
        if answered:  # both Flask and the fast path start the response before they return the body
            status, route = answered[-1]
            self._observe(environ["REQUEST_METHOD"], route, int(status.split(" ", 1)[0]), started, request_id)
        return body

    def _observe(self, method: str, route: str | None, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        observe_request(route or "unmatched", method, status, seconds)
        if self.log_requests:
            log_access(method, route, status, seconds, request_id)
