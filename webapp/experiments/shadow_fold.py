"""Folds shadow predictions into agreement and paired-accuracy totals, incrementally, inside the stats refresh.

A shadow prediction counts once three things may be known: its own log row, the served row it
mirrored (`prediction_id = shadow_of`) and that served prediction's feedback. They arrive in any
order, in different batches and transactions. So each refresh takes as candidates the shadows
that any of the three touched in this refresh's windows:

- shadow rows stored in the log window;
- shadows of served rows stored in the log window (found through the `shadow_of` index);
- shadows of predictions whose feedback was written in the feedback window (a replaced feedback too).

For each candidate it joins the three as they are now, compares that with what `shadow_pairs` says
was counted before, and adds only the difference to `shadow_comparisons`. So a candidate seen in
two windows counts once, a replaced feedback takes its earlier contribution back out, and
rerunning a refresh changes nothing. A shadow whose served row is not stored yet waits, uncounted.
Nothing relies on prediction_id being unique in the log: duplicates of a row collapse into one pair.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import String, Uuid, column, insert, select, text, update

from ..extensions import db
from ..models import utcnow
from .shadow_tables import ShadowComparison, ShadowPair

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
_CURRENT_AND_COUNTED = """
SELECT s.prediction_id AS shadow_id, s.model_id AS shadow_model_id, l.model_id AS served_model_id,
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
_TYPED_COLUMNS = [
    column(name, Uuid if name.endswith("_id") else String(8))
    for name in (
        "shadow_id", "shadow_model_id", "served_model_id", "shadow_label", "served_label", "true_label",
        "counted_shadow_model_id", "counted_served_model_id", "counted_shadow_label", "counted_served_label",
        "counted_true_label",
    )
]  # fmt: skip
_PAIR_FIELDS = ("shadow_model_id", "served_model_id", "shadow_label", "served_label", "true_label")


@dataclass(frozen=True)
class Pair:
    """A shadow prediction, the served one it mirrored, and the served one's true label if known."""

    shadow_model_id: uuid.UUID
    served_model_id: uuid.UUID
    shadow_label: str
    served_label: str
    true_label: str | None

    def counts(self) -> Counter[str]:
        """What this pair adds to its comparison's totals."""
        counts = Counter(pairs=1, agreements=int(self.shadow_label == self.served_label))
        if self.true_label is not None:
            shadow_right, served_right = self.shadow_label == self.true_label, self.served_label == self.true_label
            counts.update(
                labelled_pairs=1,
                shadow_correct=int(shadow_right),
                served_correct=int(served_right),
                shadow_only_correct=int(shadow_right and not served_right),
                served_only_correct=int(served_right and not shadow_right),
            )
        return counts

    @property
    def versions(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.shadow_model_id, self.served_model_id


def fold_shadow_pairs(log_window: tuple[int, int], feedback_window: tuple[int, int]) -> int:
    """Count the shadow pairs that changed in these windows; returns how many changed."""
    now, counted = _current_and_counted(log_window, feedback_window)
    deltas: dict[tuple[uuid.UUID, uuid.UUID], Counter[str]] = defaultdict(Counter)
    inserts, updates = [], []
    for shadow_id, pair in now.items():
        before = counted.get(shadow_id)
        if pair == before:
            continue
        deltas[pair.versions].update(pair.counts())
        if before is None:
            inserts.append({"shadow_prediction_id": shadow_id, **vars(pair)})
        else:
            deltas[before.versions].subtract(before.counts())
            updates.append({"shadow_prediction_id": shadow_id, **vars(pair)})
    if inserts:
        db.session.execute(insert(ShadowPair), inserts)
    if updates:
        db.session.execute(update(ShadowPair), updates)
    _merge(deltas)
    return len(inserts) + len(updates)


def _current_and_counted(
    log_window: tuple[int, int], feedback_window: tuple[int, int]
) -> tuple[dict[uuid.UUID, Pair], dict[uuid.UUID, Pair]]:
    """Each candidate's pair as the tables say now, and as it was last counted (if it was)."""
    now, counted = {}, {}
    for row in db.session.execute(_statement(log_window, feedback_window)):
        now[row.shadow_id] = Pair(*(getattr(row, name) for name in _PAIR_FIELDS))
        if row.counted_shadow_model_id is not None:
            counted[row.shadow_id] = Pair(*(getattr(row, f"counted_{name}") for name in _PAIR_FIELDS))
    return now, counted


def _statement(log_window: tuple[int, int], feedback_window: tuple[int, int]):
    if db.engine.dialect.name == "postgresql":
        window, bounds = _POSTGRES_WINDOW, [str(value) for value in (*log_window, *feedback_window)]
        log_position = feedback_position = ""
    else:  # SQLite: one writer at a time, so row ids and feedback revisions grow in commit order
        window, bounds = _SQLITE_WINDOW, [*log_window, *feedback_window]
        log_position, feedback_position = "id", "revision"
    candidates = _CANDIDATES.format(
        shadow_window=window.format(alias="s", bound="log", position=log_position),
        served_window=window.format(alias="l", bound="log", position=log_position),
        feedback_window=window.format(alias="f", bound="feedback", position=feedback_position),
    )
    names = ("log_low", "log_high", "feedback_low", "feedback_high")
    statement = text(_CURRENT_AND_COUNTED.format(candidates=candidates))
    return statement.bindparams(**dict(zip(names, bounds, strict=True))).columns(*_TYPED_COLUMNS)


def _merge(deltas: dict[tuple[uuid.UUID, uuid.UUID], Counter[str]]) -> None:
    if not deltas:
        return
    shadow_ids = {shadow_id for shadow_id, _ in deltas}
    rows = {
        (row.shadow_model_id, row.served_model_id): row
        for row in db.session.scalars(select(ShadowComparison).where(ShadowComparison.shadow_model_id.in_(shadow_ids)))
    }
    for key, delta in deltas.items():
        row = rows.get(key) or _new_comparison(*key)
        for name, amount in delta.items():
            setattr(row, name, getattr(row, name) + amount)
        row.updated_at = utcnow()


def _new_comparison(shadow_model_id: uuid.UUID, served_model_id: uuid.UUID) -> ShadowComparison:
    row = ShadowComparison(shadow_model_id=shadow_model_id, served_model_id=served_model_id)
    for name in ("pairs", "agreements", "labelled_pairs", "shadow_correct", "served_correct",
                 "shadow_only_correct", "served_only_correct"):  # fmt: skip
        setattr(row, name, 0)
    db.session.add(row)
    return row
