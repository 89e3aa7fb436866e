"""What happens around every request, in one hook before and one after: its id and its timing.

One pair instead of one per concern, because each hook costs every request Flask's dispatch and
an async check, and /predict is the hot path.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from .audit.trail import REQUEST_ID_HEADER, request_id_of
from .ids import new_uuid4
from .logs import log_access
from .metrics.instruments import observe_request


def register_request_hooks(app: Flask, log_requests: bool) -> None:
    """Give every request an id (the client's if valid) and echo it; time it into
    router_http_request_duration_seconds by route template; with LOG_REQUESTS, log it."""

    @app.before_request
    def _begin_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_of(request)

    @app.after_request
    def _end_request(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or new_uuid4()
        started = g.get("request_started")
        if started is not None:
            seconds = time.perf_counter() - started
            route = request.url_rule.rule if request.url_rule is not None else None
            observe_request(route or "unmatched", request.method, response.status_code, seconds)
            if log_requests:
                log_access(request.method, route, response.status_code, seconds)
        return response
