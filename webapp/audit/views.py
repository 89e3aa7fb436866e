"""GET /audit: registry changes, newest first, a page at a time."""

from __future__ import annotations

from sqlalchemy import select

from ..contract import endpoint
from ..extensions import db
from ..http import json_response, parse_query
from . import bp
from .models import AuditLog
from .schemas import AuditEntryOut, AuditPage, AuditQuery


def audit_page(model: str | None, limit: int, before: int | None) -> tuple[list[AuditLog], int | None]:
    """Up to `limit` entries below id `before`, newest first, and the cursor for the next page."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit + 1)
    if model is not None:
        query = query.where(AuditLog.model_name == model)
    if before is not None:
        query = query.where(AuditLog.id < before)
    entries = list(db.session.scalars(query))
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, entries[-1].id if more else None


@bp.get("")
@endpoint(
    "read",
    "Registry changes, newest first",
    tag="audit",
    query=AuditQuery,
    responses={200: AuditPage},
    description="Paginated by entry id: pass `next_before` as `?before=` for the next page.",
)
def list_audit():
    query = parse_query(AuditQuery)
    entries, next_before = audit_page(query.model, query.limit, query.before)
    return json_response(
        AuditPage(
            entries=[
                AuditEntryOut(
                    id=entry.id,
                    at=entry.at,
                    action=entry.action,
                    model_name=entry.model_name,
                    model_id=None if entry.model_id is None else str(entry.model_id),
                    before=entry.before,
                    after=entry.after,
                    actor=entry.actor,
                    request_id=entry.request_id,
                )
                for entry in entries
            ],
            next_before=next_before,
        )
    )
