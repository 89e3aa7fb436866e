"""Registry operations: register, list, activate, deactivate, archive. Shared by views and the CLI.

Every change runs inside `registry_change()`, which takes the routing_state row lock first and
bumps the config version. That one lock serializes all registry writes, so the "percents of a
model add up to at most 100" check cannot be raced, and each committed change has its own version
for the routing cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import func, select, update

from ..audit.trail import record
from ..errors import Conflict, NotFound, ValidationFailed, validation_details
from ..experiments.epochs import record_splits
from ..extensions import db
from ..inference import PREDICTORS, SKLEARN, default_algorithm
from ..models import ModelVersion, RoutingState, utcnow
from ..schemas import Status, weight_number
from .schemas import RegisterModel
from .splits import rebalancing

OnCommit = Callable[[], None]


class Change:
    """What the body of a registry change found: by default a change; `unchanged()` when it asks for
    the state that already holds (the same percent, the same split, a second delete)."""

    def __init__(self) -> None:
        self.changed = True

    def unchanged(self) -> None:
        self.changed = False


@contextmanager
def registry_change(on_commit: OnCommit | None) -> Iterator[Change]:
    """Lock the registry; if the body changed it, bump the config version; commit; let routing know.

    A request for the state that already holds is a no-op: no new config version (a split's ETag
    stays), no epoch, no audit entry, and routing is not told. What else the caller's transaction
    holds still commits.
    """
    change = Change()
    try:
        db.session.execute(select(RoutingState.id).where(RoutingState.id == 1).with_for_update())
        yield change
        if change.changed:
            db.session.execute(
                update(RoutingState)
                .where(RoutingState.id == 1)
                .values(version=RoutingState.version + 1, changed_at=utcnow())
            )
            record_splits()  # the experiments' allocation epochs, in the same transaction
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if change.changed and on_commit is not None:
        on_commit()


def parse_model_id(model_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(model_id)
    except ValueError:
        raise NotFound(f"no model with id {model_id!r}: model ids are UUIDs") from None


def get_version(model_id: str) -> ModelVersion:
    version = db.session.get(ModelVersion, parse_model_id(model_id))
    if version is None:
        raise NotFound(f"no model with id {model_id!r}")
    return version


def list_versions(
    name: str | None = None, status: Status | None = None, limit: int | None = None, offset: int = 0
) -> tuple[list[ModelVersion], int]:
    """A page of registered versions, oldest first, and how many match in all.

    Archived versions are listed only when asked for by status.
    """
    query = select(ModelVersion)
    if name is not None:
        query = query.where(ModelVersion.name == name)
    query = query.where(ModelVersion.status == status) if status else query.where(ModelVersion.status != "archived")
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.order_by(ModelVersion.name, ModelVersion.created_at, ModelVersion.id).offset(offset).limit(limit)
    return list(db.session.scalars(page)), total or 0


def register_version(request: RegisterModel, on_commit: OnCommit | None = None) -> ModelVersion:
    """Add an inactive version; 409 if the name and version are taken (archived ones included)."""
    algorithm = request.algorithm or default_algorithm(request.major_version)
    params = _validated_params(algorithm, request.params or {})
    with registry_change(on_commit):
        existing = db.session.scalar(
            select(ModelVersion).where(ModelVersion.name == request.name, ModelVersion.version == request.version)
        )
        if existing is not None:
            raise Conflict(
                f"model {request.name!r} version {request.version!r} is already registered",
                {"model_id": str(existing.id), "status": existing.status},
            )
        version = ModelVersion(
            id=uuid.uuid4(),
            name=request.name,
            version=request.version,
            description=request.description,
            accuracy=request.accuracy,
            algorithm=algorithm,
            params=params,
            status="inactive",
            traffic_percent=Decimal(0),
            shadow_percent=Decimal(0),
            created_at=utcnow(),
        )
        db.session.add(version)
        record("register", version.name, version.id, None, {"version": version.version, **state(version)})
    return version


def activate(model_id: str, percent: Decimal, on_commit: OnCommit | None = None) -> ModelVersion:
    """Give a version `percent` of its model's traffic; 409 if the model's total would pass 100."""
    with registry_change(on_commit) as change:
        version = get_version(model_id)
        if version.status == "archived":
            raise Conflict(f"model {model_id} is archived and cannot be activated")
        require_model(version)
        if version.status == "active" and version.traffic_percent == percent:
            change.unchanged()
            return version
        others = db.session.scalars(
            select(ModelVersion).where(
                ModelVersion.name == version.name, ModelVersion.status == "active", ModelVersion.id != version.id
            )
        ).all()
        allocated = sum(other.traffic_percent for other in others)
        if allocated + percent > 100:
            raise Conflict(
                f"activating at {percent}% would give model {version.name!r} {allocated + percent}% of traffic",
                {
                    "requested_percent": weight_number(percent),
                    "available_percent": weight_number(100 - allocated),
                    "current_allocation": [
                        {
                            "model_id": str(o.id),
                            "version": o.version,
                            "traffic_percent": weight_number(o.traffic_percent),
                        }
                        for o in others
                    ],
                },
            )
        before = state(version)
        with rebalancing(version.name):
            if version.status != "active":
                version.status, version.activated_at = "active", utcnow()
            version.traffic_percent = percent
        record("activate", version.name, version.id, before, state(version))
    return version


def deactivate(model_id: str, on_commit: OnCommit | None = None) -> ModelVersion:
    """Take a version out of routing: status inactive, traffic 0."""
    with registry_change(on_commit) as change:
        version = get_version(model_id)
        if version.status == "archived":
            raise Conflict(f"model {model_id} is archived")
        if version.status == "inactive":
            change.unchanged()
            return version
        before = state(version)
        with rebalancing(version.name):
            version.status, version.traffic_percent = "inactive", Decimal(0)
        record("deactivate", version.name, version.id, before, state(version))
    return version


def archive(model_id: str, on_commit: OnCommit | None = None) -> ModelVersion:
    """Delete from the listings; prediction logs and statistics are kept. Only inactive versions."""
    with registry_change(on_commit) as change:
        version = get_version(model_id)
        if version.status == "active":
            raise Conflict(
                f"model {model_id} is active at {weight_number(version.traffic_percent)}%; deactivate it first",
                {"status": version.status, "traffic_percent": weight_number(version.traffic_percent)},
            )
        if version.status == "archived":
            change.unchanged()
        else:
            before = state(version)
            # An archived version leaves routing entirely, shadow traffic included.
            version.status, version.archived_at, version.shadow_percent = "archived", utcnow(), Decimal(0)
            record("delete", version.name, version.id, before, state(version))
    return version


def set_shadow(model_id: str, percent: Decimal, on_commit: OnCommit | None = None) -> ModelVersion:
    """Mirror `percent` of the name's routed requests to this version (0 stops); it need not be active."""
    with registry_change(on_commit) as change:
        version = get_version(model_id)
        if version.status == "archived":
            raise Conflict(f"model {model_id} is archived and cannot shadow traffic")
        if percent > 0:
            require_model(version)
        if version.shadow_percent == percent:
            change.unchanged()
            return version
        before = {"shadow_percent": weight_number(version.shadow_percent)}
        version.shadow_percent = percent
        record("shadow", version.name, version.id, before, {"shadow_percent": weight_number(percent)})
    return version


def require_model(version: ModelVersion) -> None:
    """409 unless the version has a model to serve: a sklearn version needs its artifact first."""
    if version.algorithm == SKLEARN and version.artifact_sha256 is None:
        raise Conflict(
            f"model {version.name!r} version {version.version!r} has no artifact yet: upload its model file with "
            f"PUT /models/{version.id}/artifact before it takes traffic",
            {"model_id": str(version.id), "version": version.version, "artifact": None},
        )


def set_metrics(model_id: str, metrics: dict[str, float]) -> ModelVersion:
    """Add offline metrics to a version (a name given again takes the new value); audited."""
    version = locked_version(model_id)
    before = dict(version.metrics or {})
    version.metrics = {**before, **metrics}
    record("metrics", version.name, version.id, before, version.metrics)
    db.session.commit()
    return version


def locked_version(model_id: str) -> ModelVersion:
    # Two uploads for one version at once: the second waits here, then sees the first's artifact.
    version = get_version(model_id)
    db.session.execute(select(ModelVersion.id).where(ModelVersion.id == version.id).with_for_update())
    db.session.refresh(version)
    return version


def state(version: ModelVersion) -> dict:
    """A version's routing state, as the audit log records it."""
    return {"status": version.status, "traffic_percent": weight_number(version.traffic_percent)}


def _validated_params(algorithm: str, params: dict) -> dict:
    try:
        return PREDICTORS[algorithm].Params.model_validate(params).model_dump()
    except ValidationError as exc:
        details = [{**detail, "field": f"params.{detail['field']}"} for detail in validation_details(exc)]
        raise ValidationFailed(f"invalid params for {algorithm}", details) from None


def find_version(name: str, version: str) -> ModelVersion:
    """A version by its name and version string, archived ones included; 404 if none."""
    found = db.session.scalar(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version))
    if found is None:
        raise NotFound(f"model {name!r} has no version {version!r}")
    return found
