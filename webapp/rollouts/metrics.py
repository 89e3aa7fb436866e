"""The metrics snapshot a rollout is judged on, read from the materialized tables (never the logs).

- requests, p95 latency: model_stats, everything the version served;
- accuracy, reward: outcome_stats, every labelled prediction of the version;
- the step's requests: the candidate's routed (sticky and random) requests under the routing-config
  versions from the one that put the step in place: allocation_counts.
- errors: the prediction log records answered predictions only, and a failed /predict is not
  attributed to a version, so errors are reported as not measured (None).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ..experiments import statistics as st
from ..experiments.tables import AllocationCount, OutcomeStats
from ..extensions import db
from ..models import ModelStats
from .machine import ArmMetrics, Snapshot
from .tables import Rollout


def arm_metrics(model_id: uuid.UUID) -> ArmMetrics:
    """One version's materialized numbers."""
    stats = db.session.get(ModelStats, model_id)
    outcome = db.session.get(OutcomeStats, model_id)
    accuracy = st.Proportion(outcome.labelled_count, outcome.correct_count) if outcome else st.Proportion(0, 0)
    reward = (
        st.Moments(outcome.reward_count, float(outcome.reward_sum), float(outcome.reward_sum_squares))
        if outcome
        else st.Moments(0, 0.0, 0.0)
    )
    return ArmMetrics(
        requests=stats.request_count if stats else 0,
        accuracy=accuracy,
        reward=reward,
        p95_latency=stats.p95_latency if stats else None,
        errors=None,
    )


def step_requests(rollout: Rollout) -> int:
    """The candidate's routed requests since its current step was put in place."""
    total = db.session.scalar(
        select(func.sum(AllocationCount.sticky_count + AllocationCount.random_count)).where(
            AllocationCount.model_id == rollout.candidate_id,
            AllocationCount.config_version >= rollout.step_config_version,
        )
    )
    return int(total or 0)


def snapshot(rollout: Rollout, target_n: float) -> Snapshot:
    """Everything `machine.decide` needs about this rollout's two versions."""
    candidate, baseline = arm_metrics(rollout.candidate_id), arm_metrics(rollout.baseline_id)
    return Snapshot(candidate, baseline, step_requests(rollout), target_n)
