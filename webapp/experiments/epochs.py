"""Allocation epochs: the runs of routing-config versions during which a model's split stayed the same.

Every registry change records the split of each model name under the new config version
(`record_splits`, called inside the registry's transaction). The current epoch of a model name is
the latest run of config versions with unchanged weights: the SRM check compares routed counts
with the split only within it, since a split change changes the expected ratios.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import ModelVersion, RoutingState
from .models import RoutingSplit

Split = frozenset[tuple[uuid.UUID, float]]


@dataclass(frozen=True)
class Epoch:
    """Config versions `first`..`last` (inclusive) of one model name, all with this split."""

    model_name: str
    first: int
    last: int
    weights: dict[uuid.UUID, float]


def record_splits() -> None:
    """Store every version's share under the config version this transaction set (0 if inactive).

    Every non-archived version is recorded, so each model name has rows at every config version.
    """
    config_version = db.session.execute(select(RoutingState.version).where(RoutingState.id == 1)).scalar_one()
    versions = db.session.scalars(select(ModelVersion).where(ModelVersion.status != "archived")).all()
    db.session.execute(RoutingSplit.__table__.delete().where(RoutingSplit.config_version == config_version))
    for version in versions:
        percent = version.traffic_percent if version.status == "active" else 0
        db.session.add(
            RoutingSplit(config_version=config_version, model_id=version.id, model_name=version.name, percent=percent)
        )


def current_epoch(model_name: str) -> Epoch | None:
    """The latest run of config versions with the same split for this name; None if never active."""
    rows = db.session.execute(
        select(RoutingSplit.config_version, RoutingSplit.model_id, RoutingSplit.percent)
        .where(RoutingSplit.model_name == model_name)
        .order_by(RoutingSplit.config_version.desc())
    ).all()
    if not rows:
        return None
    splits: dict[int, set[tuple[uuid.UUID, int]]] = {}
    for config_version, model_id, percent in rows:
        shares = splits.setdefault(config_version, set())
        if percent > 0:  # a version at 0% takes no routed traffic: it is not part of the split
            shares.add((model_id, float(percent)))
    current = db.session.execute(select(RoutingState.version).where(RoutingState.id == 1)).scalar_one()
    return epoch_from_splits(model_name, {version: frozenset(split) for version, split in splits.items()}, current)


def epoch_from_splits(model_name: str, splits: dict[int, Split], current_version: int) -> Epoch | None:
    """Walk back from the current config version while the name's split stays the same.

    Changes to other models record this name's unchanged split again, so they do not end an epoch.
    """
    recorded = sorted((version for version in splits if version <= current_version), reverse=True)
    if not recorded:
        return None
    latest = splits[recorded[0]]
    if not latest:
        return None
    first = recorded[0]
    for version in recorded[1:]:
        if splits[version] != latest:
            break
        first = version
    return Epoch(model_name, first, current_version, dict(latest))
