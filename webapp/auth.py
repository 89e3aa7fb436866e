"""API keys: who may call what.

Three scopes, each with its own key list in the settings: `admin` (registry writes and stats
refresh), `predict` and `read`. A scope with no keys configured is open. An admin key is good
for every scope. Keys arrive as `Authorization: Bearer <key>` or `X-API-Key: <key>`; they are
compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
from typing import Literal

from flask import Request

from .config import Settings
from .errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

Scope = Literal["admin", "predict", "read"]
SCOPES: tuple[Scope, ...] = ("admin", "predict", "read")
_ENV_NAMES = {"admin": "ADMIN_API_KEYS", "predict": "PREDICT_API_KEYS", "read": "READ_API_KEYS"}


class KeyRing:
    """The accepted keys per scope, as bytes for `hmac.compare_digest`."""

    def __init__(self, settings: Settings) -> None:
        admin = _encoded(settings.admin_api_keys)
        self._keys: dict[Scope, tuple[bytes, ...]] = {
            "admin": admin,
            "predict": _encoded(settings.predict_api_keys) + admin if settings.predict_api_keys else (),
            "read": _encoded(settings.read_api_keys) + admin if settings.read_api_keys else (),
        }

    def is_open(self, scope: Scope) -> bool:
        return not self._keys[scope]

    def open_scopes(self) -> list[Scope]:
        return [scope for scope in SCOPES if self.is_open(scope)]

    def check(self, scope: Scope, request: Request) -> None:
        """Raise 401 without a key, 403 with one that this scope does not accept."""
        if not self._keys[scope]:
            return
        presented = presented_key(request)
        if presented is None:
            raise Unauthorized(
                f"this endpoint needs an API key ({_ENV_NAMES[scope]}): "
                "send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        if not self.accepts(scope, presented):
            raise Forbidden(f"this API key is not accepted here (scope: {scope})")

    def admits(self, scope: Scope, environ: dict) -> bool:
        """Whether this WSGI request may call `scope` (the /predict fast path; `check` says why not)."""
        if not self._keys[scope]:
            return True
        presented = key_from_headers(environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_X_API_KEY", ""))
        return presented is not None and self.accepts(scope, presented)

    def accepts(self, scope: Scope, presented: str) -> bool:
        candidate = presented.encode()
        # Compare against every key, without stopping at a match, so timing says nothing.
        matched = False
        for key in self._keys[scope]:
            matched |= hmac.compare_digest(candidate, key)
        return matched

    def announce(self) -> None:
        """One warning line at start for whatever is open."""
        open_scopes = self.open_scopes()
        if len(open_scopes) == len(SCOPES):
            log.warning(
                "no API keys set (ADMIN_API_KEYS, PREDICT_API_KEYS, READ_API_KEYS): "
                "every endpoint is open to anyone who can reach this service"
            )
        elif "admin" in open_scopes:
            log.warning("ADMIN_API_KEYS is not set: anyone who can reach this service can change the registry")
        else:
            log.info("API keys required for: %s", ", ".join(s for s in SCOPES if s not in open_scopes))


def _encoded(keys: frozenset[str]) -> tuple[bytes, ...]:
    return tuple(sorted(key.encode() for key in keys))


def presented_key(request: Request) -> str | None:
    """The API key the request presents, if any (never log it)."""
    return key_from_headers(request.headers.get("Authorization", ""), request.headers.get("X-API-Key", ""))


def key_from_headers(authorization: str, api_key: str) -> str | None:
    """The key from `Authorization: Bearer <key>`, else from `X-API-Key`, if either holds one."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return api_key.strip() or None
