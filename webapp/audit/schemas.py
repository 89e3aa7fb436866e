"""GET /audit: the query and the page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ..schemas import ModelName, QueryModel


class AuditQuery(QueryModel):
    model: ModelName | None = Field(default=None, description="Only changes to this model name")
    limit: Annotated[int, Field(ge=1, le=500)] = Field(default=50, description="Entries per page, 1 to 500")
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="Cursor: only entries with an id below this one (the previous page's next_before)"
    )


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    action: str = Field(description="register, activate, deactivate, delete, split, shadow")
    model_name: str
    model_id: str | None
    before: Any
    after: Any
    actor: str = Field(description="key:<first 12 hex of the key's SHA-256>, anonymous, or cli:<user>")
    request_id: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as ?before= for the next page; null on the last page")
