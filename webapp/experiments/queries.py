"""Reads the materialized tables into the plain numbers `analysis.py` works on. Never reads the logs."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select

from ..errors import NotFound
from ..extensions import db
from ..models import ModelStats, ModelVersion, StatsCursor
from ..statistics import frequentist as st
from ..statistics.calibration import BinTotals
from .data import ArmData, ExperimentData
from .epoch_outcomes import epoch_samples
from .epochs import Epoch, current_epoch
from .models import AllocationCount, AllocationUser, CalibrationBin, ConfusionCell, OutcomeStats

# A feedback rate measured over less than this is noise, not a rate.
MIN_RATE_SPAN_SECONDS = 60


def experiment_data(model_name: str) -> ExperimentData:
    """The arms of `model_name` (its current split, and every version with routed traffic) with their totals."""
    versions = {v.id: v for v in db.session.scalars(select(ModelVersion).where(ModelVersion.name == model_name))}
    if not versions:
        raise NotFound(f"no model named {model_name!r}")
    epoch = current_epoch(model_name)
    cursor = db.session.get(StatsCursor, 1)
    refreshed_at = cursor.refreshed_at if cursor else None
    history = _routed_by_config_version(list(versions))
    weights = dict(epoch.weights) if epoch else {}
    for model_id, routed in history.items():
        if model_id not in weights and versions[model_id].status != "archived" and sum(routed.values()) > 0:
            weights[model_id] = 0.0  # out of the split now, but its data stays in the experiment
    if not weights:
        return ExperimentData(model_name, [], None, None, refreshed_at)
    ids = list(weights)
    routed = _routed(epoch, ids) if epoch else {}
    users = _sticky_users(epoch, ids) if epoch else {}
    stats = {row.model_id: row for row in db.session.scalars(select(ModelStats).where(ModelStats.model_id.in_(ids)))}
    outcomes = {
        row.model_id: row for row in db.session.scalars(select(OutcomeStats).where(OutcomeStats.model_id.in_(ids)))
    }
    confusion = _confusion(ids)
    calibration = _calibration_bins(ids)
    arms = [
        replace(
            _arm(versions[model_id], percent, stats.get(model_id), outcomes.get(model_id), confusion.get(model_id, {}),
                 routed.get(model_id, (0, 0)), users.get(model_id, 0)),
            routed_by_config_version=history.get(model_id, {}),
            routed_total=sum(history.get(model_id, {}).values()),
            calibration_bins=calibration.get(model_id, []),
        )
        for model_id, percent in weights.items()
    ]  # fmt: skip
    return ExperimentData(
        model_name, arms, (epoch.first, epoch.last) if epoch else None, _feedback_per_hour(list(outcomes.values())),
        refreshed_at, epoch_samples(model_name, {model_id: versions[model_id].version for model_id in ids}),
    )  # fmt: skip


def _routed(epoch: Epoch, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    rows = db.session.execute(
        select(AllocationCount.model_id, func.sum(AllocationCount.sticky_count), func.sum(AllocationCount.random_count))
        .where(AllocationCount.model_id.in_(ids), AllocationCount.config_version.between(epoch.first, epoch.last))
        .group_by(AllocationCount.model_id)
    )
    return {model_id: (int(sticky or 0), int(random or 0)) for model_id, sticky, random in rows}


def _routed_by_config_version(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Every allocation epoch's routed count per version, not only the current one's."""
    rows = db.session.execute(
        select(AllocationCount).where(AllocationCount.model_id.in_(ids)).order_by(AllocationCount.config_version)
    ).scalars()
    found: dict[uuid.UUID, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row.model_id, {})[str(row.config_version)] = row.sticky_count + row.random_count
    return found


def _sticky_users(epoch: Epoch, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = db.session.execute(
        select(AllocationUser.model_id, func.count(func.distinct(AllocationUser.user_id)))
        .where(AllocationUser.model_id.in_(ids), AllocationUser.config_version.between(epoch.first, epoch.last))
        .group_by(AllocationUser.model_id)
    )
    return {model_id: int(count) for model_id, count in rows}


def _confusion(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, dict[str, int]]]:
    matrix: dict[uuid.UUID, dict[str, dict[str, int]]] = {}
    for cell in db.session.scalars(select(ConfusionCell).where(ConfusionCell.model_id.in_(ids))):
        if cell.count:
            matrix.setdefault(cell.model_id, {}).setdefault(cell.true_label, {})[cell.predicted_label] = cell.count
    return matrix


def _calibration_bins(ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BinTotals]]:
    found: dict[uuid.UUID, list[BinTotals]] = {}
    for row in db.session.scalars(select(CalibrationBin).where(CalibrationBin.model_id.in_(ids))):
        found.setdefault(row.model_id, []).append(
            BinTotals(row.bin, row.labelled, row.correct, float(row.confidence_sum))
        )
    return found


def _arm(
    version: ModelVersion,
    percent: float,
    stats: ModelStats | None,
    outcome: OutcomeStats | None,
    confusion: dict[str, dict[str, int]],
    routed: tuple[int, int],
    sticky_users: int,
) -> ArmData:
    """One version's numbers; `routed` is (sticky, random) requests in the epoch."""
    count = stats.request_count if stats else 0
    return ArmData(
        model_id=str(version.id),
        version=version.version,
        activated_at=version.activated_at,
        percent=percent,
        request_count=count,
        routed_in_epoch=sum(routed),
        srm_units=sticky_users + routed[1],
        feedback_count=outcome.feedback_count if outcome else 0,
        accuracy=st.Proportion(outcome.labelled_count, outcome.correct_count) if outcome else st.Proportion(0, 0),
        reward=st.Moments(outcome.reward_count, float(outcome.reward_sum), float(outcome.reward_sum_squares))
        if outcome
        else st.Moments(0, 0.0, 0.0),
        latency=st.Moments(count, float(stats.latency_sum), float(stats.latency_sum_squares))
        if stats
        else st.Moments(0, 0.0, 0.0),
        mean_confidence=round(float(stats.confidence_sum) / count, 4) if count else None,
        p95_latency=stats.p95_latency if stats else None,
        confusion=confusion,
    )


def _feedback_per_hour(outcomes: list[OutcomeStats]) -> float | None:
    """Outcomes counted per hour, over the span between the first and the latest feedback."""
    times: list[datetime] = [t for row in outcomes for t in (row.first_feedback_at, row.last_feedback_at) if t]
    total = sum(row.feedback_count for row in outcomes)
    if not times or not total:
        return None
    span = (max(times) - min(times)).total_seconds()
    return total / span * 3600 if span >= MIN_RATE_SPAN_SECONDS else None
