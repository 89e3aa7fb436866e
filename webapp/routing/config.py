"""The routing configuration: read from the registry tables, serialized for the cache, built into a table."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..inference import Predictor, build_predictor
from ..models import ModelVersion, RoutingState, Split
from .allocation import Allocation, Arm, RoutingTable
from .slots import legacy_assignment, rebalance

log = logging.getLogger(__name__)

RoutingConfig = dict[str, Any]


def read_config() -> RoutingConfig:
    """The current configuration from the database, as one consistent snapshot.

    One statement reads the version number, the rows and the stored splits together: reading them
    separately could pair a newer state with an older number, and the cache would then refuse the
    real update.
    """
    rows = db.session.execute(
        select(RoutingState.version, ModelVersion, Split.runs)
        .select_from(RoutingState)
        .outerjoin(ModelVersion, ModelVersion.status != "archived")
        .outerjoin(Split, Split.name == ModelVersion.name)
        .where(RoutingState.id == 1)
    ).all()
    if not rows:
        raise RuntimeError("routing_state is empty: run `flask --app wsgi db upgrade`")
    active = sorted(
        (mv for _, mv, _ in rows if mv is not None and mv.status == "active"),
        key=lambda mv: (mv.activated_at, str(mv.id)),
    )
    stored = {mv.name: runs for _, mv, runs in rows if mv is not None and runs is not None}
    return {
        "version": rows[0][0],
        "names": sorted({mv.name for _, mv, _ in rows if mv is not None}),
        "active": [{**_arm_entry(mv), "percent": float(mv.traffic_percent)} for mv in active],
        "splits": _splits(active, stored),
        "shadows": [
            {**_arm_entry(mv), "percent": float(mv.shadow_percent)}
            for _, mv, _ in rows
            if mv is not None and mv.shadow_percent > 0
        ],
    }


def _arm_entry(mv: ModelVersion) -> dict[str, Any]:
    return {
        "model_id": str(mv.id),
        "name": mv.name,
        "version": mv.version,
        "algorithm": mv.algorithm,
        "params": mv.params or {},
    }


def _splits(active: list[ModelVersion], stored: dict[str, list]) -> dict[str, list[list]]:
    # Rebalancing a stored split against the weights it was made for changes nothing; a name that
    # has no stored split yet (activated before slots existed) starts from the split it had then.
    weights: dict[str, dict[str, Decimal]] = {}
    for mv in active:
        weights.setdefault(mv.name, {})[str(mv.id)] = Decimal(mv.traffic_percent)
    return {name: [list(run) for run in split_of(stored.get(name), by_id)] for name, by_id in weights.items()}


def split_of(stored: list | None, weights: dict[str, Decimal]) -> tuple:
    """The slots for `weights`: the stored runs, or without any, the split served before slots."""
    previous = legacy_assignment(weights) if stored is None else (tuple(run) for run in stored)
    return rebalance(previous, weights)


def current_version() -> int:
    """The routing-config version in the database (cheap: one row)."""
    return db.session.execute(select(RoutingState.version).where(RoutingState.id == 1)).scalar_one()


class PredictorCache:
    """Reuses predictor instances across configuration changes; building one is not free."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Predictor] = {}

    def get(self, algorithm: str, params: dict[str, Any]) -> Predictor:
        key = (algorithm, json.dumps(params, sort_keys=True))
        predictor = self._by_key.get(key)
        if predictor is None:
            predictor = build_predictor(algorithm, params)
            try:
                predictor.predict("warm up")  # TextBlob loads its lexicon lazily: pay that here, not in a request
            except Exception:  # a failing version must not break every model's table; its requests fail and count
                log.exception("version with algorithm %s failed its warm-up prediction", algorithm)
            self._by_key[key] = predictor
        return predictor


def build_table(config: RoutingConfig, predictors: PredictorCache) -> RoutingTable:
    """Turn a serialized configuration into an immutable routing table."""
    arms_by_name: dict[str, list[Arm]] = {}
    for entry in config["active"]:
        arm = _arm(entry, predictors)
        arms_by_name.setdefault(arm.name, []).append(arm)
    shadows_by_name: dict[str, list[Arm]] = {}
    for entry in config.get("shadows", []):  # configs published before shadows existed have none
        shadows_by_name.setdefault(entry["name"], []).append(_arm(entry, predictors))
    splits = config.get("splits", {})
    return RoutingTable(
        version=config["version"],
        allocations={
            name: Allocation(name, tuple(arms), _runs(splits.get(name), arms), tuple(shadows_by_name.get(name, ())))
            for name, arms in arms_by_name.items()
        },
        known_names=frozenset(config["names"]),
    )


def _runs(stored: list | None, arms: list[Arm]) -> tuple:
    # A config published before slots existed carries no splits: the split it was serving.
    if stored is None:
        return split_of(None, {arm.model_id: Decimal(str(arm.percent)) for arm in arms})
    return tuple((start, end, owner) for start, end, owner in stored)


def _arm(entry: dict[str, Any], predictors: PredictorCache) -> Arm:
    return Arm(
        model_id=entry["model_id"],
        name=entry["name"],
        version=entry["version"],
        algorithm=entry["algorithm"],
        percent=entry["percent"],
        predictor=predictors.get(entry["algorithm"], entry["params"]),
    )
