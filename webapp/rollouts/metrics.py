"""The metrics snapshot a rollout is judged on, read from the materialized tables (never the logs).

- requests, p95 latency: model_stats, everything the version served; the latency histogram
  (latency_histogram) for the p95's confidence bounds;
- accuracy, reward: outcome_stats, every labelled prediction of the version;
- the step's requests: the candidate's routed (sticky and random) requests under the routing-config
  versions from the one that put the step in place: allocation_counts.
- errors: the candidate's failed routed requests (prediction_errors) in the same window as the
  step's requests, so errors / (errors + step requests) is the step's error rate. The failures are
  read as the worker has stored them, the requests as the stats refresh materialized them, which
  the evaluation runs first.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import func, select

from ..experiments.models import AllocationCount, OutcomeStats
from ..extensions import db
from ..failures.queries import routed_errors_since
from ..models import LatencyHistogram, ModelStats
from ..statistics import frequentist as st
from .machine import ArmMetrics, Snapshot
from .models import Rollout


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
        latency_counts=_latency_counts(model_id),
    )


def _latency_counts(model_id: uuid.UUID) -> tuple[tuple[int, int], ...]:
    rows = db.session.execute(
        select(LatencyHistogram.bucket, LatencyHistogram.count).where(LatencyHistogram.model_id == model_id)
    )
    return tuple((bucket, count) for bucket, count in rows)


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
    candidate = replace(candidate, errors=routed_errors_since(rollout.candidate_id, rollout.step_config_version))
    return Snapshot(candidate, baseline, step_requests(rollout), target_n)
