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
from typing import Any

from psycopg2.extras import execute_values
from sqlalchemy import func, select, text, update

from ..extensions import db
from ..models import PredictionLog, utcnow
from .tables import ConfusionCell, Feedback, OutcomeStats

_CANDIDATES = """
SELECT f.prediction_id, f.label, f.reward, f.received_at, f.counted_model_id, f.counted_label,
       f.counted_prediction, f.counted_reward, l.model_id, l.prediction
FROM feedback f JOIN prediction_logs l ON l.prediction_id = f.prediction_id
WHERE f.prediction_id IN (
    SELECT prediction_id FROM feedback WHERE {feedback_window}
    UNION
    SELECT prediction_id FROM prediction_logs WHERE {log_window}
)
ORDER BY f.prediction_id
"""
_POSTGRES_WINDOW = "txid >= CAST(:{low} AS text)::xid8 AND txid < CAST(:{high} AS text)::xid8"
_MARK_COUNTED_POSTGRES = """
UPDATE feedback AS f SET counted_model_id = v.model_id::uuid, counted_label = v.label,
    counted_prediction = v.prediction, counted_reward = v.reward::double precision
FROM (VALUES %s) AS v (prediction_id, model_id, label, prediction, reward)
WHERE f.prediction_id = v.prediction_id::uuid
"""


@dataclass(frozen=True)
class Contribution:
    """What one prediction's feedback adds to its version's totals."""

    model_id: uuid.UUID
    label: str | None
    prediction: str
    reward: float | None


@dataclass
class Delta:
    """Changes to one version's outcome totals."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reward_sum: Decimal = Decimal(0)
    reward_sum_squares: Decimal = Decimal(0)
    cells: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, contribution: Contribution, sign: int) -> None:
        self.counts["feedback_count"] += sign
        if contribution.label is not None:
            self.counts["labelled_count"] += sign
            self.counts["correct_count"] += sign * (contribution.label == contribution.prediction)
            self.cells[(contribution.label, contribution.prediction)] += sign
        if contribution.reward is not None:
            reward = Decimal(str(contribution.reward))
            self.counts["reward_count"] += sign
            self.reward_sum += sign * reward
            self.reward_sum_squares += sign * reward * reward

    def seen_at(self, moment: datetime) -> None:
        self.first_at = min(filter(None, (self.first_at, moment)))
        self.last_at = max(filter(None, (self.last_at, moment)))


def fold_outcomes(log_window: tuple[int, int], feedback_from: int) -> tuple[int, int]:
    """Count the outcomes that changed; returns the next feedback position and how many changed."""
    postgres = db.engine.dialect.name == "postgresql"
    feedback_to = log_window[1] if postgres else _last_revision(feedback_from)
    rows = _candidates(postgres, log_window, (feedback_from, feedback_to))
    deltas: dict[uuid.UUID, Delta] = defaultdict(Delta)
    changed = []
    for row in rows:
        now = Contribution(row.model_id, row.label, row.prediction, row.reward)
        before = None
        if row.counted_model_id is not None:
            before = Contribution(row.counted_model_id, row.counted_label, row.counted_prediction, row.counted_reward)
        if before == now:
            continue
        if before is not None:
            deltas[before.model_id].add(before, -1)
        deltas[now.model_id].add(now, +1)
        deltas[now.model_id].seen_at(row.received_at)
        changed.append((row.prediction_id, now))
    _mark_counted(postgres, changed)
    _merge(deltas)
    return feedback_to, len(changed)


def orphaned_feedback(grace_seconds: float) -> dict[str, int]:
    """Feedback still without its prediction log: waiting (within the grace period) and orphaned."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    unmatched = Feedback.counted_model_id.is_(None)
    orphaned = db.session.scalar(select(func.count()).where(unmatched, Feedback.received_at < cutoff))
    waiting = db.session.scalar(select(func.count()).where(unmatched, Feedback.received_at >= cutoff))
    return {"orphaned": orphaned or 0, "waiting_for_prediction": waiting or 0, "grace_seconds": grace_seconds}


def _last_revision(position: int) -> int:
    return max(db.session.scalar(select(func.max(Feedback.revision))) or 0, position)


def _candidates(postgres: bool, log_window: tuple[int, int], feedback_window: tuple[int, int]) -> list[Any]:
    if postgres:
        feedback = _POSTGRES_WINDOW.format(low="feedback_low", high="feedback_high")
        logs = _POSTGRES_WINDOW.format(low="log_low", high="log_high")
        bounds = [str(value) for value in (*feedback_window, *log_window)]
    else:  # SQLite: row ids and revisions grow in commit order (one writer at a time)
        feedback = "revision > :feedback_low AND revision <= :feedback_high"
        logs = "id > :log_low AND id <= :log_high"
        bounds = [*feedback_window, *log_window]
    statement = text(_CANDIDATES.format(feedback_window=feedback, log_window=logs)).bindparams(
        **dict(zip(("feedback_low", "feedback_high", "log_low", "log_high"), bounds, strict=True))
    )
    # Typed columns: UUIDs and timestamps come back as Python objects on both backends.
    feedback_columns, log_columns = Feedback.__table__.c, PredictionLog.__table__.c
    statement = statement.columns(
        feedback_columns.prediction_id, feedback_columns.label, feedback_columns.reward, feedback_columns.received_at,
        feedback_columns.counted_model_id, feedback_columns.counted_label, feedback_columns.counted_prediction,
        feedback_columns.counted_reward, log_columns.model_id, log_columns.prediction,
    )  # fmt: skip
    return list(db.session.execute(statement))


def _mark_counted(postgres: bool, changed: list[tuple[uuid.UUID, Contribution]]) -> None:
    """Record what is now counted for each prediction, exactly as counted (not re-read)."""
    if not changed:
        return
    values = [(str(pid), str(c.model_id), c.label, c.prediction, c.reward) for pid, c in changed]
    if postgres:
        cursor = db.session.connection().connection.dbapi_connection.cursor()
        execute_values(cursor, _MARK_COUNTED_POSTGRES, values, page_size=1000)
        return
    db.session.execute(
        update(Feedback),
        [
            {"prediction_id": pid, "counted_model_id": c.model_id, "counted_label": c.label,
             "counted_prediction": c.prediction, "counted_reward": c.reward}
            for pid, c in changed
        ],
    )  # fmt: skip


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


def _new_stats(model_id: uuid.UUID) -> OutcomeStats:
    row = OutcomeStats(
        model_id=model_id, feedback_count=0, labelled_count=0, correct_count=0, reward_count=0,
        reward_sum=Decimal(0), reward_sum_squares=Decimal(0),
    )  # fmt: skip
    db.session.add(row)
    return row
