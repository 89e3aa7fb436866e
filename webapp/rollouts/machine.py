"""The rollout state machine. Pure: a plan, a state, a metrics snapshot and the time in; a decision out.

Shaped like Flagger's scheduler: every evaluation checks the guardrails first (a breach rolls back at
once, whatever the step), then advances only when the step has lasted `step_seconds` AND the
candidate has served `min_requests_per_step` routed requests in it. After the last step has met
both, the rollout completes. A step with a manual gate (Argo Rollouts' `pause: {}`) is not entered
on time and requests alone: the rollout then waits at the step before it, still judged by its
guardrails, until an operator promotes it. Paused and finished rollouts never move. No I/O, no
clock of its own.
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

ADVANCE, HOLD, ROLLBACK, COMPLETE, GATE = "advance", "hold", "rollback", "complete", "gate"
APPROVAL = "approval"  # what a rollout at a manual gate waits for


class InvalidTransition(Exception):
    """An operator asked for a transition the rollout's state does not allow (pause a finished one...)."""


@dataclass(frozen=True)
class Plan:
    """What the operator asked for: candidate percents per step, the minimums per step, the guardrails."""

    steps: tuple[float, ...]
    step_seconds: float
    min_requests_per_step: int
    guardrails: Guardrails = field(default_factory=Guardrails)
    gated_steps: frozenset[int] = frozenset()  # steps entered only once an operator promotes the rollout


@dataclass(frozen=True)
class State:
    state: str
    step_index: int
    step_started_at: datetime
    waiting_for: str | None = None  # APPROVAL while held before a gated step


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    step_index: int  # the step after the decision
    checks: tuple[Check, ...] = ()


def decide(plan: Plan, state: State, snapshot: Snapshot, now: datetime) -> Decision:
    """The next action for a rollout: advance, hold, roll back, complete, or wait at a gate."""
    if state.state != RUNNING:
        return Decision(HOLD, f"rollout is {state.state}", state.step_index)
    checks = guardrail_checks(plan.guardrails, snapshot)
    breached = [check for check in checks if check.breached]
    if breached:
        return Decision(ROLLBACK, "; ".join(check.note for check in breached), state.step_index, checks)
    if state.waiting_for == APPROVAL:
        return Decision(HOLD, _gate_reason(plan, state.step_index), state.step_index, checks)
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
    if following in plan.gated_steps:
        return Decision(GATE, _gate_reason(plan, state.step_index), state.step_index, checks)
    return Decision(ADVANCE, f"step {state.step_index} met its time and requests", following, checks)


def _gate_reason(plan: Plan, step_index: int) -> str:
    following = step_index + 1
    return (
        f"step {step_index} met its time and requests; step {following} ({plan.steps[following]:g}%) has a "
        "manual gate: waiting for approval (promote the rollout to go on)"
    )


def pause(state: State) -> State:
    """Stop moving; only a running rollout can pause."""
    if state.state != RUNNING:
        raise InvalidTransition(f"only a running rollout can be paused; this one is {state.state}")
    return replace(state, state=PAUSED, waiting_for=None)


def promote(state: State, now: datetime) -> State:
    """Approve a manual gate: enter the gated step, whose clock starts now."""
    if state.state != RUNNING or state.waiting_for != APPROVAL:
        being = state.state if state.state != RUNNING else "running and not at a manual gate"
        raise InvalidTransition(f"only a rollout waiting for approval can be promoted; this one is {being}")
    return replace(state, step_index=state.step_index + 1, step_started_at=now, waiting_for=None)


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
