"""Pure routing: which active version serves a request. No I/O, no clocks, no globals.

Sticky routing hashes `"<model name>:<user_id>"` with SHA-256 into one of 10,000 slots, and the
version that owns the slot serves (see `slots.py`: a change of weights moves the fewest slots). The
answer also carries the same digest mod 100, the `bucket` of earlier versions. Anonymous requests
get a weighted random choice by percent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from ..inference import Predictor
from .slots import Assignment, owner_at, user_slot

BUCKETS = 100
RoutingMethod = Literal["sticky", "random", "explicit"]


def user_bucket(model_name: str, user_id: str) -> int:
    """The user's bucket, 0..99: the SHA-256 digest of "<model>:<user>" as an integer, mod 100."""
    return user_slot(model_name, user_id) % BUCKETS  # 100 divides 10,000: the same digest mod 100


@dataclass(frozen=True, slots=True)
class Arm:
    """An active version as routing sees it, with its ready-to-use predictor."""

    model_id: str
    name: str
    version: str
    algorithm: str
    percent: float
    predictor: Predictor = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Route:
    arm: Arm
    method: RoutingMethod
    bucket: int | None = None
    slot: int | None = None


@dataclass(frozen=True)
class Allocation:
    """The active versions of one model name, the slots each owns, and their percents."""

    name: str
    arms: tuple[Arm, ...]  # in stable order: activation time, then id
    runs: Assignment = ()  # (start, end, model_id): every slot owned whenever total > 0
    shadows: tuple[Arm, ...] = ()  # versions mirroring `percent`% of routed requests, after the answer
    bounds: tuple[float, ...] = field(init=False)
    total: float = field(init=False)
    starts: tuple[int, ...] = field(init=False)
    by_version: Mapping[str, Arm] = field(init=False)
    by_id: Mapping[str, Arm] = field(init=False)

    def __post_init__(self) -> None:
        bounds, running = [], 0.0
        for arm in self.arms:
            running += arm.percent
            bounds.append(running)
        object.__setattr__(self, "bounds", tuple(bounds))
        object.__setattr__(self, "total", running)
        object.__setattr__(self, "starts", tuple(start for start, _, _ in self.runs))
        object.__setattr__(self, "by_version", {arm.version: arm for arm in self.arms})
        object.__setattr__(self, "by_id", {arm.model_id: arm for arm in self.arms})

    def sticky(self, slot: int) -> Arm:
        """The version that owns `slot`."""
        owner = owner_at(self.starts, self.runs, slot)
        if owner is None or owner not in self.by_id:
            raise ServiceUnavailable(f"slot {slot} of model {self.name!r} has no version: the split is inconsistent")
        return self.by_id[owner]

    def weighted(self, unit_random: float) -> Arm:
        """A weighted random choice by percent; zero-width ranges (0%) are skipped by bisect_right."""
        index = bisect_right(self.bounds, unit_random * self.total)
        return self.arms[min(index, len(self.arms) - 1)]


@dataclass(frozen=True)
class RoutingTable:
    """Everything routing needs, immutable: swapped whole when the configuration changes."""

    version: int
    allocations: Mapping[str, Allocation]  # model names with at least one active version
    known_names: frozenset[str]  # every registered model name that is not archived

    def route(
        self,
        unit_random: float,
        model: str | None = None,
        user_id: str | None = None,
        model_version: str | None = None,
    ) -> Route:
        """Pick the version for one request, or raise the error the client should see."""
        allocation = self._allocation(model)
        if model_version is not None:
            arm = allocation.by_version.get(model_version)
            if arm is None:
                raise NotFound(
                    f"version {model_version!r} of model {allocation.name!r} is not active",
                    {"active_versions": sorted(allocation.by_version)},
                )
            return Route(arm, "explicit")
        if allocation.total == 0:  # the split's own state, not a failure: a version named explicitly is served
            raise Conflict(
                f"model {allocation.name!r} has no traffic allocated: every active version is at 0%; "
                "name one in 'model_version', or give one a share of the split",
                {"active_versions": sorted(allocation.by_version)},
            )
        if user_id is not None:
            slot = user_slot(allocation.name, user_id)
            return Route(allocation.sticky(slot), "sticky", slot % BUCKETS, slot)
        return Route(allocation.weighted(unit_random), "random")

    def _allocation(self, model: str | None) -> Allocation:
        if model is None:
            if len(self.allocations) == 1:
                return next(iter(self.allocations.values()))
            if not self.allocations:
                raise ServiceUnavailable("no model version is active; activate one with POST /models/<id>/activate")
            raise BadRequest(
                "several models are active; name one in 'model'",
                {"active_models": sorted(self.allocations)},
            )
        allocation = self.allocations.get(model)
        if allocation is not None:
            return allocation
        if model in self.known_names:
            # The service can serve, just not this: the named model has nothing active to route to.
            raise NotFound(f"model {model!r} has no active version; activate one with POST /models/<id>/activate")
        raise NotFound(f"no model named {model!r}", {"known_models": sorted(self.known_names)})
