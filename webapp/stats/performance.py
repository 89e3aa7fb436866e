"""Which active version is doing better: by the experiment's outcomes (accuracy from feedback) when
clients send feedback, otherwise by the seed's rule (confidence, then latency), once there is enough
data. Without a recommendation the note says why and what is missing."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..errors import BadRequest
from ..experiments.service import experiment_report
from ..extensions import db
from ..models import ModelVersion, StatsCursor
from .queries import stats_entries
from .schemas import Performance, Recommendation, StatsEntry

MIN_PREDICTIONS = 30
# Closer than this in average confidence counts as a tie, broken by the lower average latency.
CONFIDENCE_TIE = 0.01


def performance(model_name: str | None = None) -> Performance:
    """Compare the versions of one model; the model may be omitted when only one has traffic or active versions."""
    entries = stats_entries()
    model_name = _model_name(entries) if model_name is None else model_name
    models = [entry for entry in entries if entry.model_name == model_name]
    cursor = db.session.get(StatsCursor, 1)
    refreshed_at = cursor.refreshed_at if cursor else None
    if model_name is None:
        recommendation, note, basis = None, _no_model(entries), None
    elif refreshed_at is None:
        recommendation, note, basis = None, _not_refreshed(), None
    else:
        recommendation, note, basis = _recommendation(model_name, models)
    return Performance(
        model_name=model_name,
        models=models,
        total_requests=sum(entry.request_count for entry in models),
        recommendation=recommendation,
        recommendation_note=note,
        basis=basis,
        refreshed_at=refreshed_at,
    )


def _model_name(entries: list[StatsEntry]) -> str | None:
    """The one model with predictions (several is a 400), or else the one model with active versions."""
    served = sorted({entry.model_name for entry in entries if entry.request_count})
    if len(served) > 1:
        raise BadRequest("several models have predictions; choose one with ?model=", {"models": served})
    active = {entry.model_name for entry in entries if entry.status == "active"}
    return served[0] if served else active.pop() if len(active) == 1 else None


def _no_model(entries: list[StatsEntry]) -> str:
    active = sorted({entry.model_name for entry in entries if entry.status == "active"})
    if not active:
        return "no model has predictions or active versions yet"
    return f"several models have active versions ({', '.join(active)}); choose one with ?model="


def _not_refreshed() -> str:
    seconds = current_app.extensions["settings"].stats_refresh_seconds
    return (
        "no stats refresh has run yet, so every count here is still zero: the refresh runs every "
        f"{seconds:g} s (STATS_REFRESH_SECONDS) once the worker and beat are up; "
        "POST /models/stats/refresh queues one now"
    )


def _recommendation(model_name: str, models: list[StatsEntry]) -> tuple[Recommendation | None, str | None, str | None]:
    """By outcomes when any arm has feedback, else by the seed's rule; with the basis used."""
    recommendation, note = _from_outcomes(model_name)
    if recommendation is not None or note is not None:
        return recommendation, note, "outcomes"
    recommendation, note = recommend([entry for entry in models if entry.status == "active"], _active(model_name))
    if recommendation is not None:
        reason = f"no feedback yet, so by the versions' own confidence (not accuracy): {recommendation.reason}"
        recommendation = recommendation.model_copy(update={"reason": reason})
    return recommendation, note, "confidence"


def _active(model_name: str) -> list[str]:
    query = select(ModelVersion.version).where(ModelVersion.name == model_name, ModelVersion.status == "active")
    return sorted(db.session.scalars(query))


def recommend(
    active: list[StatsEntry], active_versions: list[str] | None = None
) -> tuple[Recommendation | None, str | None]:
    """The better of the active versions by the seed's rule, or None with what is missing."""
    if len(active) < 2:
        names = active_versions if active_versions is not None else [entry.model_version for entry in active]
        have = f"it has {len(names)}" + (f" ({', '.join(names)})" if names else "")
        return None, f"a recommendation needs at least two active versions; {have}"
    short = [entry for entry in active if entry.request_count < MIN_PREDICTIONS]
    if short:
        have = "; ".join(f"{entry.model_version} has {entry.request_count} predictions" for entry in short)
        return None, f"{have}; {MIN_PREDICTIONS} are needed per active version before comparing them"
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
        note = f"by the experiment's outcomes (GET /experiments/{model_name}), no winner ({decision.status}): "
        note += decision.reason
        if decision.status == "no_difference_yet" and report.power.missing:
            missing, mde = report.power.missing, report.power.mde
            note += f"; about {missing} more labelled predictions would detect a {mde:g} difference"
        return None, note
    winner = next(arm for arm in report.arms if arm.model_version == decision.winner)
    return Recommendation(
        model_id=winner.model_id,
        model_version=winner.model_version,
        reason=f"from the experiment's outcomes (GET /experiments/{model_name}): {decision.reason}",
        compared=[comparison.model_dump() for comparison in report.comparisons],
    ), None
