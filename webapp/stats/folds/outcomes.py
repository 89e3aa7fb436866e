"""Folds feedback into per-version outcome totals, incrementally, inside the stats refresh.

A prediction's outcome can be counted once both its feedback and its log are stored, in either
order. Each refresh looks at the predictions whose feedback was written in the feedback window
or whose log arrived in the log window, joins the two, and compares what should be counted with
what was counted before (the `counted_*` columns of `feedback`): only the difference is added.
So a replaced feedback replaces its earlier contribution, a prediction seen twice (its log and
its feedback in different windows) is counted once, and rerunning a refresh changes nothing.
Feedback whose log has not arrived waits, uncounted; after a grace period /health calls it orphaned.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ...experiments.models import CalibrationBin, ConfusionCell, OutcomeStats
from ...extensions import db
from ...feedback.models import Feedback
from ...models import utcnow
from .outcome_changes import Change, changes


@dataclass
class Delta:
    """Changes to one version's outcome totals."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reward_sum: Decimal = Decimal(0)
    reward_sum_squares: Decimal = Decimal(0)
    cells: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # Confidence bin -> [labelled, correct, confidence sum]
    calibration: dict[int, list] = field(default_factory=lambda: defaultdict(lambda: [0, 0, Decimal(0)]))
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, change: Change) -> None:
        amount = change.sign * change.count
        self.counts["feedback_count"] += amount
        if change.label is not None:
            self.counts["labelled_count"] += amount
            self.counts["correct_count"] += amount * (change.label == change.prediction)
            self.cells[(change.label, change.prediction)] += amount
            totals = self.calibration[change.bin]
            totals[0] += amount
            totals[1] += amount * (change.label == change.prediction)
            totals[2] += change.sign * change.confidence_sum
        self.counts["reward_count"] += change.sign * change.reward_count
        self.reward_sum += change.sign * change.reward_sum
        self.reward_sum_squares += change.sign * change.reward_sum_squares
        if change.sign > 0 and change.first_at is not None:
            self.seen_at(change.first_at)
            self.seen_at(change.last_at)

    def seen_at(self, moment: datetime) -> None:
        self.first_at = min(filter(None, (self.first_at, moment)))
        self.last_at = max(filter(None, (self.last_at, moment)))


def fold_outcomes(log_window: tuple[int, int], feedback_from: int) -> tuple[int, int]:
    """Count the outcomes that changed; returns the next feedback position and how many changed."""
    feedback_to = log_window[1]  # feedback rows carry the transaction id that wrote them, like log rows
    deltas: dict[uuid.UUID, Delta] = defaultdict(Delta)
    for change in changes(log_window, (feedback_from, feedback_to)):
        deltas[change.model_id].add(change)
    _merge(deltas)
    changed = sum(delta.counts["feedback_count"] for delta in deltas.values())  # net new outcomes
    return feedback_to, changed


def orphaned_feedback(grace_seconds: float) -> dict[str, int]:
    """Feedback still without its prediction log: waiting (within the grace period) and orphaned."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    unmatched = Feedback.counted_model_id.is_(None)
    orphaned = db.session.scalar(select(func.count()).where(unmatched, Feedback.received_at < cutoff))
    waiting = db.session.scalar(select(func.count()).where(unmatched, Feedback.received_at >= cutoff))
    return {"orphaned": orphaned or 0, "waiting_for_prediction": waiting or 0, "grace_seconds": grace_seconds}


def _merge(deltas: dict[uuid.UUID, Delta]) -> None:
    if not deltas:
        return
    model_ids = list(deltas)
    stats = {
        row.model_id: row
        for row in db.session.scalars(select(OutcomeStats).where(OutcomeStats.model_id.in_(model_ids)))
    }
    cells = {
        (cell.model_id, cell.true_label, cell.predicted_label): cell
        for cell in db.session.scalars(select(ConfusionCell).where(ConfusionCell.model_id.in_(model_ids)))
    }
    for model_id, delta in deltas.items():
        row = stats.get(model_id) or _new_stats(model_id)
        for name, amount in delta.counts.items():
            setattr(row, name, getattr(row, name) + amount)
        row.reward_sum = Decimal(row.reward_sum) + delta.reward_sum
        row.reward_sum_squares = Decimal(row.reward_sum_squares) + delta.reward_sum_squares
        if delta.first_at is not None:
            row.first_feedback_at = min(filter(None, (row.first_feedback_at, delta.first_at)))
            row.last_feedback_at = max(filter(None, (row.last_feedback_at, delta.last_at)))
        row.updated_at = utcnow()
        for (true_label, predicted), amount in delta.cells.items():
            key = (model_id, true_label, predicted)
            if key not in cells:
                cells[key] = ConfusionCell(model_id=model_id, true_label=true_label, predicted_label=predicted, count=0)
                db.session.add(cells[key])
            cells[key].count += amount
    _merge_calibration(deltas, model_ids)


def _merge_calibration(deltas: dict[uuid.UUID, Delta], model_ids: list[uuid.UUID]) -> None:
    bins = {
        (row.model_id, row.bin): row
        for row in db.session.scalars(select(CalibrationBin).where(CalibrationBin.model_id.in_(model_ids)))
    }
    for model_id, delta in deltas.items():
        for bin_index, (labelled, correct, confidence_sum) in delta.calibration.items():
            row = bins.get((model_id, bin_index))
            if row is None:
                row = CalibrationBin(model_id=model_id, bin=bin_index, labelled=0, correct=0, confidence_sum=0)
                db.session.add(row)
            row.labelled += labelled
            row.correct += correct
            row.confidence_sum = Decimal(row.confidence_sum) + confidence_sum


def _new_stats(model_id: uuid.UUID) -> OutcomeStats:
    row = OutcomeStats(
        model_id=model_id, feedback_count=0, labelled_count=0, correct_count=0, reward_count=0,
        reward_sum=Decimal(0), reward_sum_squares=Decimal(0),
    )  # fmt: skip
    db.session.add(row)
    return row
