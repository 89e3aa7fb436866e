"""The rollout state machine. Pure: a plan, a state, a metrics snapshot and the time in; a decision out.

Shaped like Flagger's scheduler: every evaluation checks the guardrails first (a breach rolls back at
once, whatever the step), then advances only when the step has lasted `step_seconds` AND the
candidate has served `min_requests_per_step` routed requests in it. After the last step has met
both, the rollout completes. Paused and finished rollouts never move. No I/O, no clock of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

from scipy import stats

from ..statistics import frequentist as st
from ..statistics import quantiles, sequential

RUNNING, PAUSED = "running", "paused"
ROLLED_BACK, COMPLETED, ABORTED = "rolled_back", "completed", "aborted"
ACTIVE_STATES = (RUNNING, PAUSED)
FINAL_STATES = (ROLLED_BACK, COMPLETED, ABORTED)

ADVANCE, HOLD, ROLLBACK, COMPLETE = "advance", "hold", "rollback", "complete"

# A p95 read from fewer requests than this is noise: the latency guardrail waits for it.
MIN_LATENCY_SAMPLES = 100
# Each side of the latency ratio is a one-sided bound at this level, so the pair holds with at least 95%.
LATENCY_ALPHA = 0.025
# The error-rate guardrail looks at every evaluation (every 10 s): a stricter level than the
# experiment's 0.05 keeps the repeated looks from rolling back a candidate that meets its limit.
ERROR_RATE_ALPHA = 0.01
# A mean reward from fewer observations than this is not judged.
MIN_REWARD_SAMPLES = 30


class InvalidTransition(Exception):
    """An operator asked for a transition the rollout's state does not allow (pause a finished one...)."""


@dataclass(frozen=True)
class Guardrails:
    """Limits on the candidate; None switches a guardrail off."""

    max_error_rate: float | None = None
    max_p95_latency_ratio: float | None = 1.5
    max_accuracy_drop: float | None = 0.02
    min_mean_reward: float | None = None


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
class ArmMetrics:
    """One version's materialized numbers.

    `errors`: the version's failed routed requests in the current step (None: not measured);
    `latency_counts`: its latency histogram, (bucket, count) pairs (`webapp.latency`).
    """

    requests: int
    accuracy: st.Proportion
    reward: st.Moments
    p95_latency: float | None = None
    errors: int | None = None
    latency_counts: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Snapshot:
    candidate: ArmMetrics
    baseline: ArmMetrics
    step_requests: int  # the candidate's routed requests since its current step began
    target_n: float = sequential.DEFAULT_TARGET_N


@dataclass(frozen=True)
class Check:
    """One guardrail's current value against its limit; value None: not enough data (or not measured)."""

    name: str
    value: float | None
    limit: float | None
    breached: bool
    note: str = ""

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "breached": self.breached,
            "note": self.note,
        }


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


def guardrail_checks(guardrails: Guardrails, snapshot: Snapshot) -> tuple[Check, ...]:
    """Every configured guardrail, judged on the snapshot."""
    checks = []
    if guardrails.max_error_rate is not None:
        checks.append(_error_rate(guardrails.max_error_rate, snapshot))
    if guardrails.max_p95_latency_ratio is not None:
        checks.append(_latency(guardrails.max_p95_latency_ratio, snapshot))
    if guardrails.max_accuracy_drop is not None:
        checks.append(_accuracy(guardrails.max_accuracy_drop, snapshot))
    if guardrails.min_mean_reward is not None:
        checks.append(_reward(guardrails.min_mean_reward, snapshot))
    return tuple(checks)


def _error_rate(limit: float, snapshot: Snapshot) -> Check:
    """Breached when the step's error rate is above the limit with 99% confidence (Clopper-Pearson)."""
    errors = snapshot.candidate.errors
    attempts = snapshot.step_requests + (errors or 0)
    if errors is None or attempts == 0:
        return Check("error_rate", None, limit, False, "not measured: no requests to the candidate in this step")
    rate = errors / attempts
    # The one-sided lower bound of a binomial rate: the ERROR_RATE_ALPHA quantile of Beta(errors, n - errors + 1).
    low = float(stats.beta.ppf(ERROR_RATE_ALPHA, errors, attempts - errors + 1)) if errors else 0.0
    note = (
        f"error rate {rate:.4f} ({errors} of {attempts} requests in this step) is above {limit}: "
        f"its {1 - ERROR_RATE_ALPHA:.0%} lower bound is {low:.4f}"
    )
    return Check("error_rate", round(rate, 6), limit, low > limit, note)


def _latency(limit: float, snapshot: Snapshot) -> Check:
    """Breached when even a low bound of the candidate's p95 over a high bound of the baseline's exceeds the limit.

    A ratio of two p95s read on ~100 requests jumps with whichever few slow requests land in the tail;
    the ratio of the bounds moves only when the candidate is slower beyond what the sample size explains.
    """
    candidate, baseline = snapshot.candidate, snapshot.baseline
    if candidate.requests < MIN_LATENCY_SAMPLES:
        return Check("p95_latency_ratio", None, limit, False, f"waiting for {MIN_LATENCY_SAMPLES} candidate requests")
    low = quantiles.lower_bound(candidate.latency_counts, 0.95, LATENCY_ALPHA)
    high = quantiles.upper_bound(baseline.latency_counts, 0.95, LATENCY_ALPHA)
    if not low or not high:
        return Check("p95_latency_ratio", None, limit, False, "waiting for enough latencies on both versions")
    bound = low / high
    note = (
        f"p95 latency is at least {bound:.2f}x the baseline's (candidate p95 >= {low:.3f} ms, baseline p95 <= "
        f"{high:.3f} ms, 95% confidence; point estimates {candidate.p95_latency} and {baseline.p95_latency} ms) "
        f"(limit {limit}x)"
    )
    return Check("p95_latency_ratio", round(bound, 4), limit, bound > limit, note)


def _accuracy(max_drop: float, snapshot: Snapshot) -> Check:
    """Breached when the sequential CI of (candidate - baseline) lies wholly below -max_drop."""
    comparison = st.compare_proportions(snapshot.baseline.accuracy, snapshot.candidate.accuracy, snapshot.target_n)
    if comparison is None or not math.isfinite(comparison.sequential_ci.high):
        return Check("accuracy_drop", None, max_drop, False, "waiting for labelled feedback on both versions")
    upper = comparison.sequential_ci.high
    drop = -comparison.difference
    note = (
        f"accuracy {comparison.challenger:.4f} vs baseline {comparison.baseline:.4f}: "
        f"sequential CI of the difference [{comparison.sequential_ci.low:.4f}, {upper:.4f}] is below -{max_drop}"
    )
    return Check("accuracy_drop", round(drop, 6), max_drop, upper < -max_drop, note)


def _reward(minimum: float, snapshot: Snapshot) -> Check:
    """Breached when the candidate's sequential upper bound of mean reward is below the minimum."""
    reward = snapshot.candidate.reward
    if reward.n < MIN_REWARD_SAMPLES or reward.variance is None:
        return Check("mean_reward", None, minimum, False, f"waiting for {MIN_REWARD_SAMPLES} rewards")
    upper = reward.mean + float(sequential.half_width(reward.variance / reward.n, reward.n, 0.05, snapshot.target_n))
    note = f"mean reward {reward.mean:.4f} (sequential upper bound {upper:.4f}) is below {minimum}"
    return Check("mean_reward", round(reward.mean, 6), minimum, upper < minimum, note)


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
