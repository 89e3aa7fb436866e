"""Which shadow pairs change in a refresh, marked as counted in `shadow_pairs` in the same transaction.

A candidate is a shadow prediction that the log window or the feedback window touched: its own
row, its served row, or its served prediction's feedback. Its pair as the tables say now (the
shadow's version and label, the served row's version and label, the feedback's label) is compared
with what `shadow_pairs` says was counted; each difference yields the new contribution (+1) and, if
there was one, the old (-1). Postgres does it in one statement, so thousands of new pairs never
travel to Python one by one; SQLite (the laptop default, small) does it row by row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Integer, String, Uuid, column, insert, text, update

from ..extensions import db
from ..models import UTCDateTime
from .shadow_tables import ShadowPair

_POSTGRES_WINDOW = (
    "{alias}.txid >= CAST(:{bound}_low AS text)::xid8 AND {alias}.txid < CAST(:{bound}_high AS text)::xid8"
)
_SQLITE_WINDOW = "{alias}.{position} > :{bound}_low AND {alias}.{position} <= :{bound}_high"
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
_CHANGES_POSTGRES = f"""
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
    if db.engine.dialect.name == "postgresql":
        return _changes_postgres(log_window, feedback_window)
    return _changes_sqlite(log_window, feedback_window)


def _changes_postgres(log_window: tuple[int, int], feedback_window: tuple[int, int]) -> list[PairChange]:
    statement = _statement(_CHANGES_POSTGRES, _POSTGRES_WINDOW, ("", ""), (*log_window, *feedback_window))
    statement = statement.columns(*_PAIR_COLUMNS, column("sign", Integer), column("count", Integer))
    return [
        PairChange(Pair(*(getattr(row, name) for name in _PAIR_FIELDS)), row.sign, row.count)
        for row in db.session.execute(statement)
    ]


def _changes_sqlite(log_window: tuple[int, int], feedback_window: tuple[int, int]) -> list[PairChange]:
    # One writer at a time: row ids and feedback revisions grow in commit order.
    statement = _statement(_NOW_AND_COUNTED, _SQLITE_WINDOW, ("id", "revision"), (*log_window, *feedback_window))
    counted_columns = [column(f"counted_{c.name}", c.type) for c in _PAIR_COLUMNS]
    statement = statement.columns(
        column("shadow_id", Uuid), column("shadow_created_at", UTCDateTime), *_PAIR_COLUMNS, *counted_columns
    )
    found, inserts, updates = [], [], []
    for row in db.session.execute(statement):
        now = Pair(*(getattr(row, name) for name in _PAIR_FIELDS))
        before = Pair(*(getattr(row, f"counted_{name}") for name in _PAIR_FIELDS))
        if now == before:
            continue
        found.append(PairChange(now, +1))
        marks = inserts if before.shadow_model_id is None else updates
        marks.append({"shadow_prediction_id": row.shadow_id, "shadow_created_at": row.shadow_created_at, **vars(now)})
        if before.shadow_model_id is not None:
            found.append(PairChange(before, -1))
    if inserts:
        db.session.execute(insert(ShadowPair), inserts)
    if updates:
        db.session.execute(update(ShadowPair), updates)
    return found


def _statement(template: str, window: str, positions: tuple[str, str], bounds: tuple[int, ...]):
    log_position, feedback_position = positions
    candidates = _CANDIDATES.format(
        shadow_window=window.format(alias="s", bound="log", position=log_position),
        served_window=window.format(alias="l", bound="log", position=log_position),
        feedback_window=window.format(alias="f", bound="feedback", position=feedback_position),
    )
    values = [str(value) for value in bounds] if db.engine.dialect.name == "postgresql" else list(bounds)
    names = ("log_low", "log_high", "feedback_low", "feedback_high")
    return text(template.replace("{candidates}", candidates)).bindparams(**dict(zip(names, values, strict=True)))
