"""The routing configuration: read from the registry tables, serialized for the cache, built into a table."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..inference import Predictor, build_predictor
from ..models import ModelVersion, RoutingState
from .allocation import Allocation, Arm, RoutingTable

RoutingConfig = dict[str, Any]


def read_config() -> RoutingConfig:
    """The current configuration from the database, as one consistent snapshot.

    One statement reads the version number and the rows together: reading them separately could
    pair a newer state with an older number, and the cache would then refuse the real update.
    """
    rows = db.session.execute(
        select(RoutingState.version, ModelVersion)
        .outerjoin(ModelVersion, ModelVersion.status != "archived")
        .where(RoutingState.id == 1)
    ).all()
    if not rows:
        raise RuntimeError("routing_state is empty: run `flask --app wsgi db upgrade`")
    active = sorted(
        (mv for _, mv in rows if mv is not None and mv.status == "active"),
        key=lambda mv: (mv.activated_at, str(mv.id)),
    )
    return {
        "version": rows[0][0],
        "names": sorted({mv.name for _, mv in rows if mv is not None}),
        "active": [
            {
                "model_id": str(mv.id),
                "name": mv.name,
                "version": mv.version,
                "algorithm": mv.algorithm,
                "params": mv.params or {},
                "percent": mv.traffic_percent,
            }
            for mv in active
        ],
    }


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
            predictor.predict("warm up")  # TextBlob loads its lexicon lazily: pay that here, not in a request
            self._by_key[key] = predictor
        return predictor


def build_table(config: RoutingConfig, predictors: PredictorCache) -> RoutingTable:
    """Turn a serialized configuration into an immutable routing table."""
    arms_by_name: dict[str, list[Arm]] = {}
    for entry in config["active"]:
        arm = Arm(
            model_id=entry["model_id"],
            name=entry["name"],
            version=entry["version"],
            algorithm=entry["algorithm"],
            percent=entry["percent"],
            predictor=predictors.get(entry["algorithm"], entry["params"]),
        )
        arms_by_name.setdefault(arm.name, []).append(arm)
    return RoutingTable(
        version=config["version"],
        allocations={name: Allocation(name, tuple(arms)) for name, arms in arms_by_name.items()},
        known_names=frozenset(config["names"]),
    )
