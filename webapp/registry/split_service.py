"""A model name's whole split, read and replaced in one transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ..audit.trail import record
from ..errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from ..extensions import db
from ..models import ModelVersion, utcnow
from ..routing.config import current_version
from ..schemas import weight_number
from .service import OnCommit, registry_change, require_model
from .splits import active_versions, rebalancing, slot_counts


@dataclass(frozen=True)
class SplitView:
    """A name's active versions with their percents and slot counts, at one config version."""

    name: str
    config_version: int
    versions: list[tuple[ModelVersion, int]]

    @property
    def total_percent(self) -> Decimal:
        return sum((Decimal(version.traffic_percent) for version, _ in self.versions), Decimal(0))


def read_split(name: str) -> SplitView:
    """The current split of `name`; 404 if no version of that name is registered (and not archived)."""
    # The version first: a change committed between the two reads makes the ETag older than the
    # split, so a PUT with it fails safe (412) rather than overwriting a change it never saw.
    config_version = current_version()
    _versions_of(name)
    counts = slot_counts(name)
    return SplitView(name, config_version, [(v, counts.get(str(v.id), 0)) for v in active_versions(name)])


def set_split(
    name: str,
    weights: Mapping[str, Decimal],
    if_match: Collection[str] | None = None,
    on_commit: OnCommit | None = None,
) -> SplitView:
    """Make `weights` the whole split of `name`, moving the fewest slots; 412 if `if_match` is stale."""
    with registry_change(on_commit) as change:
        before = current_version()  # under registry_change's lock
        if if_match is not None and str(before) not in if_match:
            raise PreconditionFailed(
                f"the split of {name!r} changed since it was read (config version {before} now)",
                {"etag": f'"{before}"'},
            )
        versions = {version.version: version for version in _versions_of(name)}
        _check_named(name, weights, versions)
        if _holds(weights, versions):
            change.unchanged()
            return read_split(name)
        before = _snapshot(name)
        with rebalancing(name):
            now = utcnow()
            for order, label in enumerate(weights):
                version = versions[label]
                if version.status != "active":
                    # Versions activated together keep the order they were named in.
                    version.status, version.activated_at = "active", now + timedelta(microseconds=order)
                version.traffic_percent = weights[label]
            for label, version in versions.items():
                if label not in weights and version.status == "active":
                    version.status, version.traffic_percent = "inactive", Decimal(0)
        record("split", name, None, before, _snapshot(name))
    return read_split(name)


def _holds(weights: Mapping[str, Decimal], versions: Mapping[str, ModelVersion]) -> bool:
    """Whether `weights` is the split already served: the same active versions at the same percents."""
    active = {label: version.traffic_percent for label, version in versions.items() if version.status == "active"}
    return active == dict(weights)


def _snapshot(name: str) -> dict:
    counts = slot_counts(name)
    return {
        version.version: {
            "traffic_percent": weight_number(version.traffic_percent),
            "slots": counts.get(str(version.id), 0),
        }
        for version in active_versions(name)
    }


def _versions_of(name: str) -> list[ModelVersion]:
    versions = list(db.session.scalars(select(ModelVersion).where(ModelVersion.name == name)))
    if not any(version.status != "archived" for version in versions):
        raise NotFound(f"no model named {name!r}")
    return versions


def _check_named(name: str, weights: Mapping[str, Decimal], versions: Mapping[str, ModelVersion]) -> None:
    unknown = sorted(label for label in weights if label not in versions)
    if unknown:
        raise ValidationFailed(
            f"model {name!r} has no version {', '.join(unknown)}",
            {"unknown_versions": unknown, "registered_versions": sorted(versions)},
        )
    archived = sorted(label for label in weights if versions[label].status == "archived")
    if archived:
        raise Conflict(f"archived versions cannot take traffic: {', '.join(archived)}", {"archived_versions": archived})
    for label in weights:
        require_model(versions[label])
