"""A tiny JSON-over-HTTP client for tests against real servers (urllib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(base_url: str, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    """Send one request; returns (status, decoded JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if data is not None or method != "GET":  # every write is sent as JSON, an empty body too (or 415)
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def reachable(base_url: str) -> bool:
    try:
        call(base_url, "GET", "/health", timeout=2)
    except OSError:
        return False
    return True
