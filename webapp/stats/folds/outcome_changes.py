"""Which counted outcomes change in a refresh, marked as counted in the same transaction.

A candidate is a prediction whose feedback was written in the feedback window, or whose log
arrived in the log window, and which has both. It changes when what should be counted (its log's
version and prediction, its feedback's label and reward) differs from what its feedback row says
was counted. Each change yields the new contribution (+1) and, if there was one, the old (-1);
`fold_outcomes` adds them up. The row is then marked with exactly what was counted.

It is one statement, so 20,000 new outcomes never travel to Python one by one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from ...extensions import db
from ...feedback.models import Feedback
from ...models import PredictionLog
from ...statistics.calibration import BINS

_CANDIDATES = """
    SELECT prediction_id FROM feedback WHERE {feedback_window}
    UNION
    SELECT prediction_id FROM prediction_logs WHERE {log_window}
"""
_WINDOW = "txid >= CAST(:{low} AS text)::xid8 AND txid < CAST(:{high} AS text)::xid8"
# Rows are locked in prediction_id order, as the feedback ingest writes them: no deadlock between the two.
_CHANGES = f"""
WITH candidates AS ({_CANDIDATES}),
changed AS (
    SELECT f.prediction_id, f.label, f.reward, f.received_at, l.model_id, l.prediction, l.confidence,
           f.counted_model_id, f.counted_label, f.counted_prediction, f.counted_reward
    FROM candidates c
    JOIN feedback f ON f.prediction_id = c.prediction_id
    JOIN prediction_logs l ON l.prediction_id = c.prediction_id
    WHERE (f.counted_model_id, f.counted_label, f.counted_prediction, f.counted_reward)
          IS DISTINCT FROM (l.model_id, f.label, l.prediction, f.reward)
    ORDER BY f.prediction_id
    FOR UPDATE OF f
),
marked AS (
    UPDATE feedback f SET counted_model_id = c.model_id, counted_label = c.label,
        counted_prediction = c.prediction, counted_reward = c.reward
    FROM changed c WHERE f.prediction_id = c.prediction_id
),
contributions AS (
    SELECT model_id, label, prediction, reward, received_at, confidence, 1 AS sign FROM changed
    UNION ALL
    -- The log never changes, so the contribution taken back had this same confidence.
    SELECT counted_model_id, counted_label, counted_prediction, counted_reward, NULL, confidence, -1
    FROM changed WHERE counted_model_id IS NOT NULL
)
SELECT model_id, label, prediction, sign, LEAST(floor(confidence * {BINS})::int, {BINS - 1}) AS bin,
       count(*) AS count, count(reward) AS reward_count,
       coalesce(sum(round(reward::numeric, 4)), 0) AS reward_sum,
       coalesce(sum(round(reward::numeric, 4) ^ 2), 0) AS reward_sum_squares,
       coalesce(sum(round(confidence::numeric, 4)), 0) AS confidence_sum,
       min(received_at) AS first_at, max(received_at) AS last_at
FROM contributions GROUP BY model_id, label, prediction, sign, 5
"""


@dataclass(frozen=True)
class Change:
    """`count` contributions of one kind to one version's totals: added (sign +1) or taken back (-1)."""

    model_id: uuid.UUID
    label: str | None
    prediction: str
    sign: int
    count: int
    reward_count: int
    reward_sum: Decimal
    reward_sum_squares: Decimal
    first_at: datetime | None = None
    last_at: datetime | None = None
    bin: int = 0  # the confidence bin of these predictions (webapp/statistics/calibration.py)
    confidence_sum: Decimal = Decimal(0)


def changes(log_window: tuple[int, int], feedback_window: tuple[int, int]) -> list[Change]:
    """The outcome changes in these windows, already marked as counted."""
    statement = text(
        _CHANGES.format(
            feedback_window=_WINDOW.format(low="feedback_low", high="feedback_high"),
            log_window=_WINDOW.format(low="log_low", high="log_high"),
        )
    ).bindparams(**_bounds([str(value) for value in (*feedback_window, *log_window)]))
    statement = statement.columns(
        PredictionLog.__table__.c.model_id, Feedback.__table__.c.label, PredictionLog.__table__.c.prediction
    )
    return [
        Change(row.model_id, row.label, row.prediction, row.sign, row.count, row.reward_count,
               Decimal(row.reward_sum), Decimal(row.reward_sum_squares), row.first_at, row.last_at,
               row.bin, Decimal(row.confidence_sum))
        for row in db.session.execute(statement)
    ]  # fmt: skip


def _bounds(values: list) -> dict:
    return dict(zip(("feedback_low", "feedback_high", "log_low", "log_high"), values, strict=True))
