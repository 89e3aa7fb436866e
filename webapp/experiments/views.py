"""GET /experiments/<model name>: which version is better, with the evidence."""

from __future__ import annotations

from flask import current_app

from ..contract import endpoint
from ..http import json_response, parse_query
from . import bp
from .schemas import Experiment, ExperimentQuery
from .service import experiment_report


@bp.get("/<model_name>")
@endpoint(
    "read",
    "Compare a model's versions on outcomes, with significance, SRM, power and a decision",
    tag="experiments",
    query=ExperimentQuery,
    responses={200: Experiment},
    description="Reads the materialized statistics, refreshed every STATS_REFRESH_SECONDS; see docs/statistics.md.",
)
def get_experiment(model_name: str):
    query = parse_query(ExperimentQuery)
    target_n = current_app.extensions["settings"].sequential_target_n
    return json_response(experiment_report(model_name, query.baseline, query.mde, target_n))
