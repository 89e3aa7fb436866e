"""Shaping a rollout row and its history into the API's answer."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import ModelVersion
from .apply import current_percents
from .metrics import step_requests
from .models import Rollout, RolloutEvent
from .schemas import CheckOut, RolloutEventOut, RolloutOut, WebhookOut
from .webhooks import webhooks_out


def rollout_out(rollout: Rollout) -> RolloutOut:
    """The rollout with its guardrails at the last evaluation and its history, oldest first."""
    labels = dict(
        db.session.execute(
            select(ModelVersion.id, ModelVersion.version).where(
                ModelVersion.id.in_([rollout.candidate_id, rollout.baseline_id])
            )
        ).all()
    )
    events = db.session.scalars(
        select(RolloutEvent).where(RolloutEvent.rollout_id == rollout.id).order_by(RolloutEvent.id)
    )
    return RolloutOut(
        id=rollout.id,
        model_name=rollout.model_name,
        candidate=labels.get(rollout.candidate_id, str(rollout.candidate_id)),
        baseline=labels.get(rollout.baseline_id, str(rollout.baseline_id)),
        state=rollout.state,
        step_index=rollout.step_index,
        waiting_for=rollout.waiting_for,
        current_percent=float(current_percents(rollout)[0]),
        steps=rollout.steps,
        gated_steps=rollout.gated_steps or [],
        step_seconds=rollout.step_seconds,
        min_requests_per_step=rollout.min_requests_per_step,
        step_started_at=rollout.step_started_at,
        step_requests=step_requests(rollout),
        guardrails=[CheckOut(**check) for check in rollout.checks or []],
        reason=rollout.reason,
        evaluated_at=rollout.evaluated_at,
        created_at=rollout.created_at,
        history=[
            RolloutEventOut(
                at=event.at, action=event.action, state=event.state, step_index=event.step_index,
                candidate_percent=event.candidate_percent, reason=event.reason,
                numbers=[CheckOut(**check) for check in event.numbers or []], actor=event.actor,
            )
            for event in events
        ],
        webhooks=[WebhookOut.model_validate(hook) for hook in webhooks_out(rollout.id)],
    )  # fmt: skip
