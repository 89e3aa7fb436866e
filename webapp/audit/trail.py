"""Writing audit entries, and the request id and actor they carry.

`record()` adds the entry to the session of the registry change it describes, so it commits with
that change or not at all. The request id comes from the client's X-Request-ID when it is a sane
token, else a new uuid4; every answer echoes it.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import uuid
from typing import Any

from flask import has_request_context, request

from ..auth import presented_key
from ..extensions import db
from ..ids import new_uuid4
from ..logs import REQUEST_ID_ENVIRON_KEY
from ..models import utcnow
from .models import AuditLog

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(offered: str) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    return offered if _SANE_REQUEST_ID.match(offered) else new_uuid4()


def current_actor() -> str:
    """Who is changing the registry: a key fingerprint, "anonymous", or "cli:<user>" outside requests."""
    if not has_request_context():
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):  # no login name (a container running as a bare uid)
            return "cli:unknown"
    key = presented_key(request)
    if key is None:
        return "anonymous"
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def current_request_id() -> str:
    """This request's id; outside a request, a fresh one per change."""
    if has_request_context() and request.environ.get(REQUEST_ID_ENVIRON_KEY):
        return request.environ[REQUEST_ID_ENVIRON_KEY]
    return str(uuid.uuid4())


def record(
    action: str, model_name: str, model_id: uuid.UUID | None = None, before: Any = None, after: Any = None
) -> None:
    """Add an audit entry to the current registry change's transaction."""
    db.session.add(
        AuditLog(
            at=utcnow(),
            action=action,
            model_name=model_name,
            model_id=model_id,
            before=before,
            after=after,
            actor=current_actor(),
            request_id=current_request_id(),
        )
    )
