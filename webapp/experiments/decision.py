"""The experiment's call, with the numbers behind it in one sentence. Pure: no I/O.

On accuracy, or on mean reward when there are no labels, after at least 30 observations per
version behind every comparison, and never with a sample ratio mismatch:

- `no_meaningful_difference` when every challenger's confidence sequence (at 0.05 / m) lies
  inside ±mde: whatever the truth, no difference worth having is left; the experiment can stop;
- `winner` for the best challenger significantly better (Holm-adjusted always-valid p < 0.05) by a
  difference that is not inside ±mde, or the baseline when every challenger is significantly worse;
- `no_difference_yet` otherwise.

Latency is compared and reported, never decisive: a slower but more accurate version can win.
"""

from __future__ import annotations

from .data import ArmData
from .schemas import ComparisonOut, DecisionOut, SrmOut

MIN_LABELLED_PER_ARM = 30


def decide(
    arms: list[ArmData], baseline: ArmData | None, comparisons: list[ComparisonOut], srm: SrmOut, mde: float
) -> DecisionOut:
    """The call for these arms and comparisons."""
    if baseline is None or len(arms) < 2:
        return _no_call("insufficient_data", None, "an experiment needs two versions with routed traffic")
    if srm.mismatch:
        counts = ", ".join(f"{v}: {srm.observed[v]} observed vs {srm.expected[v]:g} expected" for v in srm.observed)
        return _no_call(
            "srm", None, f"sample ratio mismatch (p = {srm.p_value:.2g}; {counts}): results cannot be trusted"
        )
    metric = "accuracy" if any(arm.accuracy.n for arm in arms) else "mean_reward"
    decisive = [c for c in comparisons if c.metric == metric]
    sizes = _sizes(arms, baseline, decisive)
    short = {version: size for version, size in sizes.items() if size < MIN_LABELLED_PER_ARM}
    if short:
        noun = "labelled predictions" if metric == "accuracy" else "rewards"
        have = "; ".join(f"{version} has {size} {noun}" for version, size in short.items())
        return _no_call(
            "insufficient_data", metric,
            f"{have}; {MIN_LABELLED_PER_ARM} are needed per version (routed, in an allocation epoch both share)",
        )  # fmt: skip
    return _call(metric, baseline, decisive, mde)


def _sizes(arms: list[ArmData], baseline: ArmData, decisive: list[ComparisonOut]) -> dict[str, int]:
    """Observations behind the comparisons per version; 0 for a challenger that has none yet."""
    found = {c.model_version: c.observations for c in decisive}
    sizes = {baseline.version: min((c.baseline_observations for c in decisive), default=0)}
    sizes.update({arm.version: found.get(arm.version, 0) for arm in arms if arm is not baseline})
    return sizes


def _call(metric: str, baseline: ArmData, comparisons: list[ComparisonOut], mde: float) -> DecisionOut:
    if not comparisons:
        return _no_call("insufficient_data", metric, f"no {metric} comparison is possible yet")
    if all(c.equivalent for c in comparisons):
        widest = max(comparisons, key=lambda c: max(abs(v) for v in c.adjusted_sequential_ci))
        reason = (
            f"no difference worth having: every difference is inside ±{mde:g} (the mde); "
            + _sentence(widest, "vs")
            + "; the experiment can be stopped"
        )
        return DecisionOut(winner=None, status="no_meaningful_difference", metric=metric, reason=reason, can_stop=True)
    better = [c for c in comparisons if c.significant and c.difference > 0 and not c.equivalent]
    if better:
        best = max(better, key=lambda c: c.value)
        return DecisionOut(
            winner=best.model_version, status="winner", metric=metric, reason=_sentence(best, "beats"), can_stop=True
        )
    if all(c.significant and c.difference < 0 for c in comparisons):
        closest = max(comparisons, key=lambda c: c.value)
        reason = f"baseline {baseline.version} wins: " + _sentence(closest, "trails")
        return DecisionOut(winner=baseline.version, status="winner", metric=metric, reason=reason, can_stop=True)
    nearest = min(comparisons, key=lambda c: c.adjusted_p_value)
    return _no_call("no_difference_yet", metric, "no significant difference yet: " + _sentence(nearest, "vs"))


def _sentence(c: ComparisonOut, verb: str) -> str:
    low, high = c.adjusted_sequential_ci
    p = f"always-valid p = {c.sequential_p_value:.2g}"
    if c.adjusted_p_value != c.sequential_p_value or c.adjusted_sequential_ci != c.sequential_ci:
        p = f"always-valid p = {c.sequential_p_value:.2g}, Holm-adjusted {c.adjusted_p_value:.2g}"
    return (
        f"{c.model_version} {verb} {c.baseline_version} on {c.metric}, {c.value:.4f} vs {c.baseline_value:.4f} "
        f"({c.difference:+.4f}, 95% confidence sequence [{low:+.4f}, {high:+.4f}], {p})"
    )


def _no_call(status: str, metric: str | None, reason: str) -> DecisionOut:
    return DecisionOut(winner=None, status=status, metric=metric, reason=reason)
