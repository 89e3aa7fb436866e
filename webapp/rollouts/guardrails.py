"""The rollout guardrails, judged on a metrics snapshot. Pure: plain numbers in, checks out; no I/O.

Latency is judged two ways, each on distribution-free bounds of the p95 (`statistics.quantiles`):
against an absolute budget (`max_p95_latency_ms`, off by default), and against the baseline
(`max_p95_latency_ratio`), where a ratio breaches only when the increase in milliseconds is also
more than `min_latency_increase_ms`: on sub-millisecond latencies a model doing a little more work is
"1.7x slower" and no user can tell, so a ratio alone rejected every better model that reads more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from ..statistics import frequentist as st
from ..statistics import quantiles, sequential

# A p95 read from fewer requests than this is noise: the latency guardrails wait for it.
MIN_LATENCY_SAMPLES = 100
# Each side of the latency comparison is a one-sided bound at this level, so the pair holds with at least 95%.
LATENCY_ALPHA = 0.025
# The error-rate guardrail looks at every evaluation (every 10 s): a stricter level than the
# experiment's 0.05 keeps the repeated looks from rolling back a candidate that meets its limit.
ERROR_RATE_ALPHA = 0.01
# A mean reward from fewer observations than this is not judged.
MIN_REWARD_SAMPLES = 30
# The latency defaults: 1.5x the baseline's p95 AND 10 ms more. A model 0.15 ms slower passes whatever its
# ratio; one 50 ms slower does not (docs/rollouts.md says why these numbers).
DEFAULT_LATENCY_RATIO = 1.5
DEFAULT_MIN_LATENCY_INCREASE_MS = 10.0


@dataclass(frozen=True)
class Guardrails:
    """Limits on the candidate; None switches a guardrail off."""

    max_error_rate: float | None = None
    max_p95_latency_ratio: float | None = DEFAULT_LATENCY_RATIO
    min_latency_increase_ms: float | None = DEFAULT_MIN_LATENCY_INCREASE_MS
    max_p95_latency_ms: float | None = None
    max_accuracy_drop: float | None = 0.02
    min_mean_reward: float | None = None


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


def guardrail_checks(guardrails: Guardrails, snapshot: Snapshot) -> tuple[Check, ...]:
    """Every configured guardrail, judged on the snapshot."""
    checks = []
    if guardrails.max_error_rate is not None:
        checks.append(_error_rate(guardrails.max_error_rate, snapshot))
    if guardrails.max_p95_latency_ms is not None:
        checks.append(_latency_budget(guardrails.max_p95_latency_ms, snapshot))
    if guardrails.max_p95_latency_ratio is not None:
        checks.append(_latency_ratio(guardrails.max_p95_latency_ratio, guardrails.min_latency_increase_ms, snapshot))
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


def _latency_budget(budget_ms: float, snapshot: Snapshot) -> Check:
    """Breached when even a low bound of the candidate's p95 is over the budget, whatever the baseline does."""
    candidate = snapshot.candidate
    if candidate.requests < MIN_LATENCY_SAMPLES:
        return Check("p95_latency_ms", None, budget_ms, False, f"waiting for {MIN_LATENCY_SAMPLES} candidate requests")
    low = quantiles.lower_bound(candidate.latency_counts, 0.95, LATENCY_ALPHA)
    if not low:
        return Check("p95_latency_ms", None, budget_ms, False, "waiting for enough candidate latencies")
    note = (
        f"p95 latency is at least {low:.3f} ms ({1 - LATENCY_ALPHA:.1%} confidence; point estimate "
        f"{candidate.p95_latency} ms), over the budget of {budget_ms:g} ms"
    )
    return Check("p95_latency_ms", round(low, 4), budget_ms, low > budget_ms, note)


def _latency_ratio(limit: float, min_increase: float | None, snapshot: Snapshot) -> Check:
    """Breached when a low bound of the candidate's p95 over a high bound of the baseline's exceeds the limit,
    and the same bounds differ by more than `min_increase` ms.

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
    bound, increase = low / high, low - high
    slack = min_increase or 0.0
    breached = bound > limit and increase > slack
    note = (
        f"p95 latency is at least {bound:.2f}x the baseline's and {increase:.3f} ms more (candidate p95 >= "
        f"{low:.3f} ms, baseline p95 <= {high:.3f} ms, 95% confidence; point estimates {candidate.p95_latency} "
        f"and {baseline.p95_latency} ms) (limit {limit}x and {slack:g} ms more)"
    )
    if bound > limit and not breached:
        note += f": within the {slack:g} ms an increase must exceed to count"
    return Check("p95_latency_ratio", round(bound, 4), limit, breached, note)


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
