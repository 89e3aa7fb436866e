"""Rollout and bandit requests and answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, Discriminator, Field, SecretStr, Tag, field_validator, model_validator

from ..schemas import Percent, RequestModel, SemVer, weight_number
from .guardrails import DEFAULT_LATENCY_RATIO, DEFAULT_MIN_LATENCY_INCREASE_MS
from .webhooks import url_problem

RolloutState = Literal["running", "paused", "rolled_back", "completed", "aborted"]
DEFAULT_STEPS = (1, 5, 25, 50, 100)
Ratio = Annotated[float, Field(ge=0, le=1)]
Milliseconds = Annotated[float, Field(ge=0, le=3_600_000)]


class GuardrailsIn(RequestModel):
    max_error_rate: Ratio | None = Field(
        default=None, description="Candidate errors per request; reported as not measured (see docs/rollouts.md)"
    )
    max_p95_latency_ratio: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        default=DEFAULT_LATENCY_RATIO,
        description="Candidate p95 latency over the baseline's, judged together with min_latency_increase_ms; "
        "null switches it off",
    )
    min_latency_increase_ms: Milliseconds | None = Field(
        default=DEFAULT_MIN_LATENCY_INCREASE_MS,
        description="The ratio breaches only when the candidate's p95 is also this many ms over the baseline's",
    )
    max_p95_latency_ms: Milliseconds | None = Field(
        default=None, description="An absolute budget for the candidate's p95 latency in ms; off by default"
    )
    max_accuracy_drop: Ratio | None = Field(
        default=0.02, description="Roll back when the sequential CI of (candidate - baseline) lies below -this"
    )
    min_mean_reward: Annotated[float, Field(ge=-1e9, le=1e9)] | None = Field(
        default=None, description="Roll back when the candidate's sequential upper bound of mean reward is below it"
    )


class GatedStep(RequestModel):
    percent: Percent = Field(description="The candidate's percent at this step")
    gate: Literal["manual"] = Field(
        description="manual: the rollout waits at the step before this one until POST /rollouts/<id>/promote"
    )


# Tags with a space: an error's field path leaves them out (webapp/errors.py), as no field has one.
PLAIN_STEP, GATED_STEP = "plain step", "gated step"


def _step_kind(value: object) -> str:
    return GATED_STEP if isinstance(value, dict | GatedStep) else PLAIN_STEP


Step = Annotated[
    Annotated[Percent, Tag(PLAIN_STEP)] | Annotated[GatedStep, Tag(GATED_STEP)],
    Discriminator(_step_kind),
]


class WebhookIn(RequestModel):
    url: str = Field(description="http:// or https://, a host, no user name or password, at most 2,000 characters")
    secret: SecretStr = Field(
        min_length=1, max_length=500, description="Signs each delivery (X-Signature-256); never shown again"
    )

    @field_validator("url")
    @classmethod
    def _usable_url(cls, url: str) -> str:
        problem = url_problem(url)
        if problem:
            raise ValueError(problem)
        return url


class RolloutRequest(RequestModel):
    candidate: SemVer = Field(description="A registered, non-archived version of the model")
    baseline: SemVer | None = Field(default=None, description="Default: the active version with the most traffic")
    steps: list[Step] = Field(
        default_factory=lambda: [Decimal(step) for step in DEFAULT_STEPS],
        min_length=1,
        max_length=50,
        description=(
            "Candidate percent of the two versions' traffic per step, strictly increasing, in (0, 100]; a step "
            'may be {"percent": 60, "gate": "manual"} to wait for approval before it'
        ),
    )
    step_seconds: Annotated[float, Field(ge=0, le=30 * 86400)] = Field(default=300, description="Minimum per step")
    min_requests_per_step: Annotated[int, Field(ge=0, le=10**9)] = Field(
        default=200, description="Candidate routed requests needed in a step before it advances"
    )
    guardrails: GuardrailsIn = Field(default_factory=GuardrailsIn)
    webhooks: list[WebhookIn] = Field(
        default_factory=list, max_length=10, description="Where every transition is POSTed, signed with its secret"
    )

    @field_validator("steps")
    @classmethod
    def _increasing_and_positive(cls, steps: list[Decimal | GatedStep]) -> list[Decimal | GatedStep]:
        percents = [_percent(step) for step in steps]
        if percents[0] <= 0:
            raise ValueError("every step must give the candidate more than 0%")
        if any(later <= earlier for earlier, later in pairwise(percents)):
            raise ValueError(f"steps must strictly increase: {[weight_number(step) for step in percents]}")
        if isinstance(steps[0], GatedStep):
            raise ValueError("the first step cannot have a manual gate: a gate holds the rollout at the step before")
        return steps

    def percents(self) -> list[float]:
        """The candidate's percent at each step."""
        return [float(_percent(step)) for step in self.steps]

    def gated_steps(self) -> list[int]:
        """The indices of the steps that wait for approval."""
        return [index for index, step in enumerate(self.steps) if isinstance(step, GatedStep)]


def _percent(step: Decimal | GatedStep) -> Decimal:
    return step.percent if isinstance(step, GatedStep) else step


class CheckOut(BaseModel):
    name: str
    value: float | None = Field(description="Current value; null: not enough data yet, or not measured")
    limit: float | None
    breached: bool
    note: str


class DeliveryOut(BaseModel):
    event: str = Field(description="started, step, gate, promoted, paused, resumed, completed, rolled_back, aborted")
    status: Literal["pending", "delivered", "failed"] = Field(
        description="pending: not yet answered 2xx (retries to come); failed: every attempt used"
    )
    attempts: int
    last_error: str | None = Field(description="What went wrong on the last failed attempt, in plain words")
    delivered_at: datetime | None


class WebhookOut(BaseModel):
    url: str
    deliveries: list[DeliveryOut] = Field(description="One per transition since the rollout started, oldest first")


class RolloutEventOut(BaseModel):
    at: datetime
    action: str
    state: RolloutState
    step_index: int
    candidate_percent: float
    reason: str
    numbers: list[CheckOut]
    actor: str


class RolloutOut(BaseModel):
    id: int
    model_name: str
    candidate: str
    baseline: str
    state: RolloutState
    step_index: int = Field(description="Index into steps of the current step")
    waiting_for: Literal["approval"] | None = Field(
        description="approval: held at this step, before a gated one, until POST /rollouts/<id>/promote"
    )
    current_percent: float = Field(description="The candidate's percent of the whole name's traffic now")
    steps: list[float]
    gated_steps: list[int] = Field(description="Indices into steps of the steps that wait for approval")
    step_seconds: float
    min_requests_per_step: int
    step_started_at: datetime
    step_requests: int = Field(description="Candidate routed requests in the current step (materialized)")
    guardrails: list[CheckOut] = Field(description="Each guardrail's value against its limit, at the last evaluation")
    reason: str | None = Field(description="Why it is where it is, from the last evaluation or transition")
    evaluated_at: datetime | None
    created_at: datetime
    history: list[RolloutEventOut]
    webhooks: list[WebhookOut] = Field(description="Each webhook's URL and deliveries; the secret is never shown")


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
