"""`flask experiment show NAME`: the experiment report the REST API serves, in a terminal."""

from __future__ import annotations

from collections.abc import Iterator

import click
from flask import current_app

from ..experiments.schemas import Experiment
from ..experiments.service import experiment_report
from .common import OpsGroup, emit, ops_command

experiment_cli = OpsGroup("experiment", help="Which version is better, with the evidence.")


def _lines(report: Experiment) -> Iterator[str]:
    yield f"{report.model_name}: baseline {report.baseline}, refreshed at {report.refreshed_at}"
    for arm in report.arms:
        yield (
            f"  {arm.model_version:<10} {arm.traffic_percent:>3}%  served {arm.request_count:>7}  "
            f"labelled {arm.labelled_count:>6}  accuracy {arm.accuracy}  95% CI {arm.accuracy_ci}"
        )
    yield f"SRM: p = {report.srm.p_value}, mismatch: {report.srm.mismatch}, observed {report.srm.observed}"
    yield f"decision: {report.decision.status}, winner: {report.decision.winner}"
    yield f"  {report.decision.reason}"


@experiment_cli.command("show")
@click.argument("name")
@click.option("--baseline", default=None, help="Compare the others with this version.")
@click.option("--mde", type=click.FloatRange(0.001, 1, max_open=True), default=0.05, show_default=True)
@ops_command
def show_command(name: str, baseline: str | None, mde: float, as_json: bool) -> None:
    """Arms, comparisons, SRM, power and the decision for model NAME."""
    target_n = current_app.extensions["settings"].sequential_target_n
    report = experiment_report(name, baseline, mde, target_n)
    emit(report, as_json, lambda: _lines(report))
