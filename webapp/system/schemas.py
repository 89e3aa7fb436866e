"""GET /health: the answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"]
    components: dict[str, Any] = Field(description="database, cache, broker, routing, log_pipeline")
