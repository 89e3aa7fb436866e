"""The experiment report for one model name, shared by the web app, /models/performance and the CLI."""

from __future__ import annotations

from ..errors import NotFound
from ..statistics.sequential import DEFAULT_TARGET_N
from .analysis import analyze, baseline_versions
from .epoch_outcomes import stratified_section
from .movers import weight_movers
from .queries import experiment_data
from .schemas import DEFAULT_MDE, Experiment
from .shadow_report import shadow_comparisons


def experiment_report(
    model_name: str, baseline: str | None = None, mde: float = DEFAULT_MDE, target_n: int = DEFAULT_TARGET_N
) -> Experiment:
    """Arms, comparisons, SRM, power and the decision; 404 for an unknown name or baseline."""
    data = experiment_data(model_name)
    if baseline is not None and baseline not in baseline_versions(data):
        raise NotFound(
            f"version {baseline!r} of {model_name!r} is not an arm of its experiment "
            "(not in the split, no routed traffic)",
            {"versions": baseline_versions(data)},
        )
    report = analyze(data, baseline, mde, target_n)
    movers = weight_movers()
    stratified = stratified_section(report, data.strata) if movers.had_bandit(model_name) else None
    return report.model_copy(
        update={
            "allocation": movers.moving_allocation(model_name),
            "stratified": stratified,
            "shadows": shadow_comparisons(model_name),
        }
    )
