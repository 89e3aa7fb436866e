"""Which shadow pairs change in a refresh, marked as counted in `shadow_pairs` in the same transaction.

A candidate is a shadow prediction that the log window or the feedback window touched: its own
row, its served row, or its served prediction's feedback. Its pair as the tables say now (the
shadow's version and label, the served row's version and label, the feedback's label) is compared
with what `shadow_pairs` says was counted; each difference yields the new contribution (+1) and, if
there was one, the old (-1). It is one statement, so thousands of new pairs never travel to Python
one by one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Integer, String, Uuid, column, text

from ...extensions import db

_WINDOW = "{alias}.txid >= CAST(:{bound}_low AS text)::xid8 AND {alias}.txid < CAST(:{bound}_high AS text)::xid8"
_CANDIDATES = """
    SELECT s.prediction_id FROM prediction_logs s WHERE s.shadow_of IS NOT NULL AND {shadow_window}
    UNION
    SELECT s.prediction_id FROM prediction_logs l
    JOIN prediction_logs s ON s.shadow_of = l.prediction_id AND s.shadow_of IS NOT NULL
    WHERE {served_window}
    UNION
    SELECT s.prediction_id FROM feedback f
    JOIN prediction_logs s ON s.shadow_of = f.prediction_id AND s.shadow_of IS NOT NULL
    WHERE {feedback_window}
"""
# A log row stored twice (prediction_id is not unique once the log is partitioned) is one pair.
_NOW_AND_COUNTED = """
SELECT DISTINCT s.prediction_id AS shadow_id, s.created_at AS shadow_created_at,
       s.model_id AS shadow_model_id, l.model_id AS served_model_id,
       s.prediction AS shadow_label, l.prediction AS served_label, f.label AS true_label,
       p.shadow_model_id AS counted_shadow_model_id, p.served_model_id AS counted_served_model_id,
       p.shadow_label AS counted_shadow_label, p.served_label AS counted_served_label,
       p.true_label AS counted_true_label
FROM prediction_logs s
JOIN prediction_logs l ON l.prediction_id = s.shadow_of
LEFT JOIN feedback f ON f.prediction_id = s.shadow_of
LEFT JOIN shadow_pairs p ON p.shadow_prediction_id = s.prediction_id
WHERE s.shadow_of IS NOT NULL AND s.prediction_id IN ({candidates})
"""
_CHANGES = f"""
WITH changed AS (
    SELECT * FROM ({_NOW_AND_COUNTED}) pairs
    WHERE (counted_shadow_model_id, counted_served_model_id, counted_shadow_label, counted_served_label,
           counted_true_label)
          IS DISTINCT FROM (shadow_model_id, served_model_id, shadow_label, served_label, true_label)
),
marked AS (
    INSERT INTO shadow_pairs AS p (shadow_prediction_id, shadow_created_at, shadow_model_id, served_model_id,
                                   shadow_label, served_label, true_label)
    SELECT shadow_id, shadow_created_at, shadow_model_id, served_model_id, shadow_label, served_label, true_label
    FROM changed
    ON CONFLICT (shadow_prediction_id) DO UPDATE SET shadow_model_id = EXCLUDED.shadow_model_id,
        served_model_id = EXCLUDED.served_model_id, shadow_label = EXCLUDED.shadow_label,
        served_label = EXCLUDED.served_label, true_label = EXCLUDED.true_label
),
contributions AS (
    SELECT shadow_model_id, served_model_id, shadow_label, served_label, true_label, 1 AS sign FROM changed
    UNION ALL
    SELECT counted_shadow_model_id, counted_served_model_id, counted_shadow_label, counted_served_label,
           counted_true_label, -1
    FROM changed WHERE counted_shadow_model_id IS NOT NULL
)
SELECT shadow_model_id, served_model_id, shadow_label, served_label, true_label, sign, count(*) AS count
FROM contributions GROUP BY shadow_model_id, served_model_id, shadow_label, served_label, true_label, sign
"""
_PAIR_FIELDS = ("shadow_model_id", "served_model_id", "shadow_label", "served_label", "true_label")
_PAIR_COLUMNS = [column(name, Uuid if name.endswith("_id") else String(8)) for name in _PAIR_FIELDS]


@dataclass(frozen=True)
class Pair:
    """A shadow prediction, the served one it mirrored, and the served one's true label if known."""

    shadow_model_id: uuid.UUID
    served_model_id: uuid.UUID
    shadow_label: str
    served_label: str
    true_label: str | None


@dataclass(frozen=True)
class PairChange:
    """`count` pairs alike, added to the totals (sign +1) or taken back out (-1)."""

    pair: Pair
    sign: int
    count: int = 1


def pair_changes(log_window: tuple[int, int], feedback_window: tuple[int, int]) -> list[PairChange]:
    """The pair changes in these windows, already marked as counted."""
    candidates = _CANDIDATES.format(
        shadow_window=_WINDOW.format(alias="s", bound="log"),
        served_window=_WINDOW.format(alias="l", bound="log"),
        feedback_window=_WINDOW.format(alias="f", bound="feedback"),
    )
    names = ("log_low", "log_high", "feedback_low", "feedback_high")
    bounds = [str(value) for value in (*log_window, *feedback_window)]
    statement = text(_CHANGES.replace("{candidates}", candidates)).bindparams(**dict(zip(names, bounds, strict=True)))
    statement = statement.columns(*_PAIR_COLUMNS, column("sign", Integer), column("count", Integer))
    return [
        PairChange(Pair(*(getattr(row, name) for name in _PAIR_FIELDS)), row.sign, row.count)
        for row in db.session.execute(statement)
    ]
