"""Persisted slot assignments: every change of a name's active weights rebalances its slots.

Runs inside `registry_change()`, under its lock, so two changes never rebalance from the same
previous assignment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..models import ModelVersion, Split, utcnow
from ..routing.config import split_of
from ..routing.slots import Assignment, owner_counts, rebalance


def active_versions(name: str) -> list[ModelVersion]:
    """The name's active versions in activation order, then id."""
    versions = db.session.scalars(
        select(ModelVersion).where(ModelVersion.name == name, ModelVersion.status == "active")
    ).all()
    return sorted(versions, key=lambda version: (version.activated_at, str(version.id)))


def active_weights(name: str) -> dict[str, Decimal]:
    """Model id -> percent for the name's active versions, in activation order."""
    return {str(version.id): Decimal(version.traffic_percent) for version in active_versions(name)}


def stored_assignment(name: str) -> Assignment:
    """The name's stored runs; without a row, the split it was served by before slots existed."""
    split = db.session.get(Split, name)
    if split is None:
        return split_of(None, active_weights(name))
    return tuple((start, end, owner) for start, end, owner in split.runs)


@contextmanager
def rebalancing(name: str) -> Iterator[None]:
    """Remember the name's slots, let the caller change its weights, then move the fewest slots."""
    previous = stored_assignment(name)
    yield
    db.session.flush()
    assignment = rebalance(previous, active_weights(name))
    split = db.session.get(Split, name)
    if split is None:
        db.session.add(Split(name=name, runs=[list(run) for run in assignment], updated_at=utcnow()))
    elif tuple(map(tuple, split.runs)) != assignment:
        split.runs, split.updated_at = [list(run) for run in assignment], utcnow()
    db.session.flush()


def slot_counts(name: str) -> dict[str, int]:
    """Model id -> slots held, from the stored assignment."""
    return owner_counts(stored_assignment(name))
