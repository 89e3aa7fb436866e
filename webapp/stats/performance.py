"""Which active version is doing better: by the experiment's outcomes when clients send feedback,
otherwise by confidence and then latency, once there is enough data."""

from __future__ import annotations

from flask import current_app

from ..errors import BadRequest
from ..experiments.service import experiment_report
from .queries import stats_entries
from .schemas import Performance, Recommendation, StatsEntry

MIN_PREDICTIONS = 30
# Closer than this in average confidence counts as a tie, broken by the lower average latency.
CONFIDENCE_TIE = 0.01


def performance(model_name: str | None = None) -> Performance:
    """Compare the versions of one model; the model may be omitted when only one has traffic."""
    entries = stats_entries()
    if model_name is None:
        served = sorted({entry.model_name for entry in entries if entry.request_count})
        if len(served) > 1:
            raise BadRequest("several models have predictions; choose one with ?model=", {"models": served})
        model_name = served[0] if served else None
    models = [entry for entry in entries if entry.model_name == model_name]
    recommendation, note = _from_outcomes(model_name) if model_name else (None, None)
    if recommendation is None and note is None:
        recommendation, note = recommend([entry for entry in models if entry.status == "active"])
        if recommendation is not None:
            reason = f"no feedback yet, so by the versions' own confidence (not accuracy): {recommendation.reason}"
            recommendation = recommendation.model_copy(update={"reason": reason})
    return Performance(
        model_name=model_name,
        models=models,
        total_requests=sum(entry.request_count for entry in models),
        recommendation=recommendation,
        recommendation_note=note,
    )


def recommend(active: list[StatsEntry]) -> tuple[Recommendation | None, str | None]:
    """The better of the active versions, or None with the reason there is no call to make yet."""
    if len(active) < 2:
        return None, "a recommendation needs at least two active versions"
    short = [entry for entry in active if entry.request_count < MIN_PREDICTIONS]
    if short:
        have = ", ".join(f"{entry.model_version}: {entry.request_count}" for entry in short)
        return None, f"waiting for {MIN_PREDICTIONS} predictions per active version (have {have})"
    ranked = sorted(active, key=lambda entry: (-(entry.avg_confidence or 0), entry.avg_latency or 0))
    best, runner_up = ranked[0], ranked[1]
    if (best.avg_confidence or 0) - (runner_up.avg_confidence or 0) < CONFIDENCE_TIE:
        best, runner_up = sorted(ranked[:2], key=lambda entry: entry.avg_latency or 0)
        reason = (
            f"{best.model_version} ties on average confidence ({best.avg_confidence} vs "
            f"{runner_up.avg_confidence}) and is faster ({best.avg_latency} ms vs {runner_up.avg_latency} ms)"
        )
    else:
        reason = (
            f"{best.model_version} has the higher average confidence ({best.avg_confidence} vs "
            f"{runner_up.avg_confidence}); average latency {best.avg_latency} ms vs {runner_up.avg_latency} ms"
        )
    compared = [
        {
            "model_version": entry.model_version,
            "request_count": entry.request_count,
            "avg_confidence": entry.avg_confidence,
            "avg_latency": entry.avg_latency,
            "p95_latency": entry.p95_latency,
        }
        for entry in ranked
    ]
    return Recommendation(
        model_id=best.model_id, model_version=best.model_version, reason=reason, compared=compared
    ), None


def _from_outcomes(model_name: str) -> tuple[Recommendation | None, str | None]:
    """The experiment's decision, once any arm has feedback; (None, None) before that."""
    report = experiment_report(model_name, target_n=current_app.extensions["settings"].sequential_target_n)
    if not any(arm.feedback_count for arm in report.arms):
        return None, None
    decision = report.decision
    if decision.winner is None:
        return None, f"from the experiment's outcomes, no winner yet ({decision.status}): {decision.reason}"
    winner = next(arm for arm in report.arms if arm.model_version == decision.winner)
    return Recommendation(
        model_id=winner.model_id,
        model_version=winner.model_version,
        reason=f"from the experiment's outcomes (GET /experiments/{model_name}): {decision.reason}",
        compared=[comparison.model_dump() for comparison in report.comparisons],
    ), None
