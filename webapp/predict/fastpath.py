"""/predict answered without Flask's per-request machinery, for the requests that need none of it.

Under load, Flask's request context, dispatch, response object and teardown cost a /predict more
than routing and logging it do (docs/benchmarks.md). This WSGI layer answers a well-formed, admitted
/predict itself, through the same service, schemas and metrics as the view. Anything else (another
path, a body that fails validation, a missing key, an unknown model, nothing active) goes to Flask
untouched, so each error keeps its one JSON shape and its one code path. Nothing done here before a
request is handed over has a side effect, so Flask serves it as if it had come straight in.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from pydantic import TypeAdapter, ValidationError

from ..errors import ApiError, PredictionFailed, error_response
from ..http import MAX_BODY_BYTES
from ..request_hooks import ROUTE_ENVIRON_KEY, WsgiApp
from . import service
from .schemas import PredictionOut, PredictRequest

PATH = "/predict"
_ANSWER = TypeAdapter(PredictionOut)

log = logging.getLogger(__name__)


class PredictFastPath:
    """WSGI middleware: answers admitted, valid POST /predict requests, hands everything else to Flask."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.limit = app.config.get("MAX_CONTENT_LENGTH") or MAX_BODY_BYTES

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" or not self._admits(environ):
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        extensions = self.app.extensions
        try:
            request = PredictRequest.model_validate_json(body)
            table = extensions["router"].table()
            answer = service.answer(request, table, extensions["log_buffer"], extensions["error_buffer"])
            payload = _ANSWER.dump_json(answer.result)
        except PredictionFailed as exc:  # counted already: handing it to Flask would predict and count again
            return self._error(environ, start_response, exc.status, exc.code, exc.message, exc.details)
        except (ValidationError, ApiError):  # nothing has happened yet: Flask's view gives the error
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        except Exception:  # what Flask's last-resort handler does (webapp/errors.py)
            log.exception("unhandled error")
            return self._error(environ, start_response, 500, "internal_error", "Internal server error.")
        environ[ROUTE_ENVIRON_KEY] = PATH
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        if answer.after_sent is None:
            return [payload]
        return _AnswerThenShadows(payload, answer.after_sent)

    def _admits(self, environ: dict[str, Any]) -> bool:
        """A JSON body of a stated length within the limit, and a key the predict scope accepts."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        return (
            mimetype == "application/json"
            and length.isdecimal()
            and "HTTP_TRANSFER_ENCODING" not in environ  # a length beside it is not the body's (werkzeug's rule)
            and int(length) <= self.limit
            and self.app.extensions["keys"].admits("predict", environ)
        )

    def _error(
        self, environ: dict[str, Any], start_response: Callable, status: int, code: str, message: str, details=None
    ) -> Iterable[bytes]:
        with self.app.app_context():  # the one JSON error shape, made where Flask's handlers make it
            response, status = error_response(status, code, message, details)
        response.status_code = status
        environ[ROUTE_ENVIRON_KEY] = PATH
        return response(environ, start_response)


class _AnswerThenShadows:
    """The answer's body; closing it (the server does, once the body is sent) runs the shadows."""

    def __init__(self, payload: bytes, after_sent: Callable[[], None]) -> None:
        self.payload = payload
        self.after_sent = after_sent

    def __iter__(self) -> Iterator[bytes]:
        yield self.payload

    def close(self) -> None:
        self.after_sent()
