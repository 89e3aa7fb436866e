"""Bandit requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from ..schemas import RequestModel, SemVer


class BanditRequest(RequestModel):
    versions: list[SemVer] = Field(min_length=2, max_length=20, description="The arms: registered, distinct versions")
    metric: Literal["accuracy", "reward"] = Field(
        default="accuracy", description="accuracy: labelled feedback; reward: mean reward in [0, 1]"
    )
    update_seconds: Annotated[float, Field(gt=0, le=86400)] = 60
    min_per_arm: Annotated[int, Field(ge=0, le=10**9)] = Field(
        default=100, description="Labelled (or rewarded) predictions every arm needs before any weight moves"
    )
    floor_percent: Annotated[float, Field(ge=0, le=50)] = Field(default=1, description="No arm goes below it")

    @model_validator(mode="after")
    def _distinct_and_floor_fits(self) -> BanditRequest:
        if len(set(self.versions)) != len(self.versions):
            raise ValueError("versions must be distinct")
        if self.floor_percent * len(self.versions) > 100:
            raise ValueError(f"a floor of {self.floor_percent}% cannot hold for {len(self.versions)} arms")
        return self


class BanditOut(BaseModel):
    id: int
    model_name: str
    state: Literal["running", "stopped"]
    metric: str
    versions: list[str]
    weights: dict[str, float] = Field(description="Version -> percent last applied")
    updates: int = Field(description="Weight updates applied so far")
    update_seconds: float
    min_per_arm: int
    floor_percent: float
    reason: str | None
    updated_at: datetime
    created_at: datetime
