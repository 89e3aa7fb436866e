"""Tables of the rollouts domain: each rollout's plan and state, its history of transitions, its webhooks
and their deliveries; and the bandits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow

# At most one running or paused rollout per model name, enforced by the database itself.
ACTIVE_ROLLOUT = "state IN ('running', 'paused')"


class Rollout(db.Model):
    """A canary plan for one model name, and where it stands.

    `pool` is the percent the candidate and the baseline held together when it started: the steps
    share it out, other versions of the name keep their traffic. `step_config_version` is the
    routing-config version that put the current step in place: the step's requests are the
    candidate's routed requests from it on.
    """

    __tablename__ = "rollouts"
    __table_args__ = (
        Index(
            "uq_rollouts_active_model_name",
            "model_name",
            unique=True,
            postgresql_where=text(ACTIVE_ROLLOUT),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    baseline_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    pool: Mapped[float] = mapped_column(Float)
    steps: Mapped[list[Any]] = mapped_column(JSON)
    gated_steps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # indices of steps that wait for approval
    step_seconds: Mapped[float] = mapped_column(Float)
    min_requests_per_step: Mapped[int] = mapped_column(Integer)
    guardrails: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    step_index: Mapped[int] = mapped_column(Integer)
    waiting_for: Mapped[str | None] = mapped_column(String(16))  # "approval": held before a gated step
    step_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    step_config_version: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RolloutEvent(db.Model):
    """One transition of a rollout, with its reason and the numbers behind it."""

    __tablename__ = "rollout_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    rollout_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rollouts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    step_index: Mapped[int] = mapped_column(Integer)
    candidate_percent: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    numbers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(String(64))


RUNNING_BANDIT = "state = 'running'"


class Bandit(db.Model):
    """A Thompson-sampling bandit over some versions of a name; weights move every `update_seconds`."""

    __tablename__ = "bandits"
    __table_args__ = (
        Index(
            "uq_bandits_running_model_name",
            "model_name",
            unique=True,
            postgresql_where=text(RUNNING_BANDIT),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    version_ids: Mapped[list[Any]] = mapped_column(JSON)  # model ids as strings, in the order named
    metric: Mapped[str] = mapped_column(String(16))
    update_seconds: Mapped[float] = mapped_column(Float)
    min_per_arm: Mapped[int] = mapped_column(Integer)
    floor_percent: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    updates: Mapped[int] = mapped_column(Integer, default=0)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # version -> percent, last applied
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RolloutWebhook(db.Model):
    """Where a rollout's transitions are POSTed, and the secret they are signed with (never shown)."""

    __tablename__ = "rollout_webhooks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    rollout_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rollouts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)


class WebhookDelivery(db.Model):
    """One transition to send to one webhook: the outbox row, written with the transition it reports.

    `body` is the exact JSON sent and signed. `status`: pending, delivered or failed (attempts used up).
    `next_attempt_at`: when the sweep may take it; each attempt pushes it past the retries' longest wait.
    """

    __tablename__ = "rollout_webhook_deliveries"
    __table_args__ = (Index("ix_rollout_webhook_deliveries_pending", "next_attempt_at", postgresql_where=text(
        "status = 'pending'")),)  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rollout_webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
