"""One evaluation pass over every active rollout: what the beat task `rollouts.evaluate` runs.

First the stats refresh, so the numbers include what was logged up to now (it has its own advisory
lock and skips when another refresh holds it; the pass then judges on what is materialized). Then
each active rollout in its own transaction: its row is taken with SELECT ... FOR UPDATE SKIP LOCKED,
so two passes at once never judge the same rollout, and every transition is a compare-and-set
committed together with its split change (`apply.transition`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ..errors import Conflict
from ..extensions import db
from ..models import utcnow
from ..registry.service import OnCommit
from ..stats.refresh import refresh_stats
from . import machine as m
from .apply import current_percents, planned_percents, transition
from .bandits import running_bandit_ids, update_due_bandits
from .metrics import snapshot
from .models import Rollout
from .service import active_rollout_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    rollout_id: int
    action: str
    reason: str


def evaluate_all(target_n: float, on_commit: OnCommit | None = None, refresh: bool = True) -> list[Outcome]:
    """Refresh the statistics, update the bandits that are due, then judge and move every active rollout once.

    With no rollout and no bandit running there is nothing to judge, and the refresh is left to its
    own beat task: two refreshes every 10 s cost Postgres CPU at every request rate.
    """
    if refresh and (active_rollout_ids() or running_bandit_ids()):
        refresh_stats()
    bandits = update_due_bandits(utcnow(), on_commit)
    outcomes = [Outcome(bandit_id, action, "bandit") for bandit_id, action in bandits if action != "not due"]
    for rollout_id in active_rollout_ids():
        outcome = evaluate_one(rollout_id, target_n, utcnow(), on_commit)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def evaluate_one(rollout_id: int, target_n: float, now: datetime, on_commit: OnCommit | None) -> Outcome | None:
    """Judge one rollout under its row lock; None when another pass holds it or it has ended."""
    rollout = db.session.scalars(
        select(Rollout)
        .where(Rollout.id == rollout_id, Rollout.state == m.RUNNING)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if rollout is None:
        db.session.rollback()
        return None
    expected, found = planned_percents(rollout, rollout.step_index), current_percents(rollout)
    if found != expected:
        reason = (
            f"the split changed outside the rollout: candidate {found[0]}% and baseline {found[1]}%, "
            f"where step {rollout.step_index} puts them at {expected[0]}% and {expected[1]}%"
        )
        return _apply(rollout, "pause", m.PAUSED, rollout.step_index, reason, (), None, on_commit)
    plan = plan_of(rollout)
    state = m.State(rollout.state, rollout.step_index, rollout.step_started_at, rollout.waiting_for)
    decision = m.decide(plan, state, snapshot(rollout, target_n), now)
    if decision.action == m.GATE:
        return _apply(rollout, "gate", m.RUNNING, rollout.step_index, decision.reason, decision.checks, None,
                      on_commit, waiting_for=m.APPROVAL)  # fmt: skip
    if decision.action == m.HOLD:
        rollout.reason, rollout.checks, rollout.evaluated_at = decision.reason, _numbers(decision.checks), now
        db.session.commit()
        return Outcome(rollout_id, m.HOLD, decision.reason)
    if decision.action == m.ADVANCE:
        percents = planned_percents(rollout, decision.step_index)
        return _apply(rollout, "advance", m.RUNNING, decision.step_index, decision.reason, decision.checks,
                      percents, on_commit)  # fmt: skip
    if decision.action == m.COMPLETE:
        whole = (Decimal(str(rollout.pool)), Decimal(0))  # the candidate takes the pool, the baseline goes
        return _apply(rollout, "complete", m.COMPLETED, rollout.step_index, decision.reason, decision.checks,
                      whole, on_commit)  # fmt: skip
    return _apply(rollout, "rollback", m.ROLLED_BACK, rollout.step_index, decision.reason, decision.checks,
                  planned_percents(rollout, None), on_commit)  # fmt: skip


def plan_of(rollout: Rollout) -> m.Plan:
    """The rollout's plan as the state machine takes it."""
    return m.Plan(
        steps=tuple(rollout.steps),
        step_seconds=rollout.step_seconds,
        min_requests_per_step=rollout.min_requests_per_step,
        guardrails=m.Guardrails(**rollout.guardrails),
        gated_steps=frozenset(rollout.gated_steps or ()),
    )


def _apply(rollout, action, state, step_index, reason, checks, percents, on_commit, waiting_for=None):
    """Apply one transition; None when another pass moved the rollout first."""
    try:
        transition(rollout, action, state, step_index, reason, checks, percents, on_commit, waiting_for)
    except Conflict as exc:  # another pass moved it first: nothing to do, and nothing applied twice
        log.info("rollout %s: %s", rollout.id, exc)
        return None
    log.info("rollout %s: %s to step %s (%s)", rollout.id, action, step_index, reason)
    return Outcome(rollout.id, action, reason)


def _numbers(checks) -> list[dict]:
    return [check.as_dict() for check in checks]
