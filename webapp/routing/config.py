"""The routing configuration: read from the registry tables, serialized for the cache, built into a table."""

from __future__ import annotations

import json
import logging
import threading
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ..artifacts.cache import ArtifactCache, load_predictor
from ..extensions import db
from ..inference import SKLEARN, Predictor, build_predictor
from ..metrics.instruments import ARTIFACT_LOAD_FAILURES
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
        "artifact": mv.artifact_sha256,
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


class ModelUnavailable(RuntimeError):
    """A version the configuration routes to has a model file this process could not load."""


class PredictorCache:
    """Reuses predictor instances across configuration changes; building one is not free.

    A `sklearn` version's predictor is its artifact, loaded from this host's verified cache. A load
    that failed is not tried again for `retry_seconds`, so a bad file does not cost every poll a fetch.
    """

    def __init__(self, artifacts: ArtifactCache | None = None, retry_seconds: float = 10.0) -> None:
        self._artifacts = artifacts
        self._retry_seconds = retry_seconds
        self._by_key: dict[tuple[str, str], Predictor] = {}
        self._failed: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()  # the dict: held for a lookup or a copy, never during a load
        self._building = threading.Lock()  # one build at a time, so two threads never load one file twice

    def get(self, entry: dict[str, Any]) -> Predictor:
        key = _key(entry)
        with self._lock:
            predictor = self._by_key.get(key)
        if predictor is not None:
            return predictor
        with self._building:
            with self._lock:
                predictor = self._by_key.get(key)
            if predictor is None:
                predictor = self._build(entry)
                with self._lock:
                    self._by_key[key] = predictor
            return predictor

    def retain(self, config: RoutingConfig) -> None:
        """Drop the predictors no entry of `config` uses: an archived version's model leaves memory."""
        used = {_key(entry) for entry in (*config["active"], *config.get("shadows", []))}
        with self._lock:
            for key in set(self._by_key) - used:
                del self._by_key[key]

    def loaded_artifacts(self) -> list[str]:
        with self._lock:
            return sorted(artifact for algorithm, artifact in self._by_key if algorithm == SKLEARN)

    def artifact_paths(self) -> dict[str, str | None]:
        """sha256 -> how each loaded model is served: "linear-fast" or "generic" (webapp/inference)."""
        with self._lock:
            loaded = [(key[1], predictor) for key, predictor in self._by_key.items() if key[0] == SKLEARN]
        return {sha256: getattr(predictor, "path", None) for sha256, predictor in sorted(loaded)}

    def _build(self, entry: dict[str, Any]) -> Predictor:
        if entry["algorithm"] == SKLEARN:
            return self._load(entry)
        predictor = build_predictor(entry["algorithm"], entry["params"])
        try:
            predictor.predict("warm up")  # TextBlob loads its lexicon lazily: pay that here, not in a request
        except Exception:  # a failing version must not break every model's table; its requests fail and count
            log.exception("version with algorithm %s failed its warm-up prediction", entry["algorithm"])
        return predictor

    def _load(self, entry: dict[str, Any]) -> Predictor:
        sha256, label = entry.get("artifact"), f"model {entry['name']!r} version {entry['version']!r}"
        if sha256 is None or self._artifacts is None:
            raise ModelUnavailable(f"{label} has no model file to load")
        failed = self._failed.get(sha256)
        if failed is not None and time.monotonic() - failed[0] < self._retry_seconds:
            raise ModelUnavailable(failed[1])
        try:
            predictor = load_predictor(self._artifacts, sha256)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"{label}: its model file {sha256[:12]} could not be loaded ({reason})"
            self._failed[sha256] = (time.monotonic(), message)
            ARTIFACT_LOAD_FAILURES.inc()
            raise ModelUnavailable(message) from exc
        self._failed.pop(sha256, None)
        return predictor


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    if entry["algorithm"] == SKLEARN:
        return SKLEARN, str(entry.get("artifact"))
    return entry["algorithm"], json.dumps(entry["params"], sort_keys=True)


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
        predictor=predictors.get(entry),
    )
