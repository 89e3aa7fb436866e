"""The rollout state machine. Pure: a plan, a state, a metrics snapshot and the time in; a decision out.

Shaped like Flagger's scheduler: every evaluation checks the guardrails first (a breach rolls back at
once, whatever the step), then advances only when the step has lasted `step_seconds` AND the
candidate has served `min_requests_per_step` routed requests in it. After the last step has met
both, the rollout completes. Paused and finished rollouts never move. No I/O, no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from .guardrails import ArmMetrics, Check, Guardrails, Snapshot, guardrail_checks

__all__ = ["ArmMetrics", "Check", "Guardrails", "Snapshot"]  # the guardrails' types, as callers name them here

RUNNING, PAUSED = "running", "paused"
ROLLED_BACK, COMPLETED, ABORTED = "rolled_back", "completed", "aborted"
ACTIVE_STATES = (RUNNING, PAUSED)
FINAL_STATES = (ROLLED_BACK, COMPLETED, ABORTED)

ADVANCE, HOLD, ROLLBACK, COMPLETE = "advance", "hold", "rollback", "complete"


class InvalidTransition(Exception):
    """An operator asked for a transition the rollout's state does not allow (pause a finished one...)."""


@dataclass(frozen=True)
class Plan:
    """What the operator asked for: candidate percents per step, the minimums per step, the guardrails."""

    steps: tuple[float, ...]
    step_seconds: float
    min_requests_per_step: int
    guardrails: Guardrails = field(default_factory=Guardrails)


@dataclass(frozen=True)
class State:
    state: str
    step_index: int
    step_started_at: datetime


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    step_index: int  # the step after the decision
    checks: tuple[Check, ...] = ()


def decide(plan: Plan, state: State, snapshot: Snapshot, now: datetime) -> Decision:
    """The next action for a rollout: advance, hold, roll back or complete."""
    if state.state != RUNNING:
        return Decision(HOLD, f"rollout is {state.state}", state.step_index)
    checks = guardrail_checks(plan.guardrails, snapshot)
    breached = [check for check in checks if check.breached]
    if breached:
        return Decision(ROLLBACK, "; ".join(check.note for check in breached), state.step_index, checks)
    elapsed = (now - state.step_started_at).total_seconds()
    if elapsed < plan.step_seconds:
        wait = f"step {state.step_index} has run {elapsed:.0f}s of {plan.step_seconds:g}s"
        return Decision(HOLD, wait, state.step_index, checks)
    if snapshot.step_requests < plan.min_requests_per_step:
        short = f"step {state.step_index} has {snapshot.step_requests} of {plan.min_requests_per_step} requests"
        return Decision(HOLD, short, state.step_index, checks)
    if state.step_index >= len(plan.steps) - 1:
        return Decision(COMPLETE, "last step held with every guardrail met", state.step_index, checks)
    following = state.step_index + 1
    return Decision(ADVANCE, f"step {state.step_index} met its time and requests", following, checks)


def pause(state: State) -> State:
    """Stop moving; only a running rollout can pause."""
    if state.state != RUNNING:
        raise InvalidTransition(f"only a running rollout can be paused; this one is {state.state}")
    return replace(state, state=PAUSED)


def resume(state: State, now: datetime) -> State:
    """Run again; the current step's clock restarts, since paused time proved nothing."""
    if state.state != PAUSED:
        raise InvalidTransition(f"only a paused rollout can be resumed; this one is {state.state}")
    return replace(state, state=RUNNING, step_started_at=now)


def abort(state: State) -> State:
    """End an active rollout; the caller returns traffic to the baseline."""
    if state.state not in ACTIVE_STATES:
        raise InvalidTransition(f"only a running or paused rollout can be aborted; this one is {state.state}")
    return replace(state, state=ABORTED)


def candidate_share(plan: Plan, step_index: int, pool: float) -> float:
    """The candidate's percent at a step: the step's share of the pool the two versions hold."""
    return round(pool * plan.steps[step_index] / 100, 2)
