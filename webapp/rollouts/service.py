"""Rollout operations shared by the web, the worker and the CLI: start, read, pause, resume, promote, abort."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import ModelVersion, RoutingState, utcnow
from ..registry.service import OnCommit, require_model
from ..registry.splits import active_versions
from . import machine as m
from .apply import planned_percents, transition
from .models import Bandit, Rollout
from .schemas import RolloutRequest
from .webhooks import add_webhooks

MAX_ID = 2**63 - 1


def start_rollout(name: str, request: RolloutRequest, on_commit: OnCommit | None = None) -> Rollout:
    """Create a running rollout and put its first step in place; 409 if the name has an active one."""
    versions = {v.version: v for v in db.session.scalars(select(ModelVersion).where(ModelVersion.name == name))}
    if not any(v.status != "archived" for v in versions.values()):
        raise NotFound(f"no model named {name!r}")
    candidate = _usable(name, versions, request.candidate, "candidate")
    baseline = _baseline(name, versions, request.baseline, candidate)
    _refuse_if_active(name)
    if db.session.scalar(select(Bandit.id).where(Bandit.model_name == name, Bandit.state == "running")) is not None:
        raise Conflict(f"model {name!r} has a running bandit; stop it before a rollout")
    pool = Decimal(candidate.traffic_percent if candidate.status == "active" else 0) + Decimal(baseline.traffic_percent)
    if pool <= 0:
        raise Conflict(f"baseline {baseline.version!r} takes no traffic: there is nothing to roll out from")
    now = utcnow()
    config_version = db.session.scalar(select(RoutingState.version).where(RoutingState.id == 1))
    rollout = Rollout(
        model_name=name, candidate_id=candidate.id, baseline_id=baseline.id, pool=float(pool),
        steps=request.percents(), gated_steps=request.gated_steps(), step_seconds=request.step_seconds,
        min_requests_per_step=request.min_requests_per_step, guardrails=request.guardrails.model_dump(),
        state=m.RUNNING, step_index=0, step_started_at=now, step_config_version=config_version, checks=[],
        created_at=now,
    )  # fmt: skip
    db.session.add(rollout)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"model {name!r} already has an active rollout") from None
    add_webhooks(rollout, [(hook.url, hook.secret.get_secret_value()) for hook in request.webhooks])
    reason = f"started: {candidate.version} against {baseline.version} over {len(rollout.steps)} steps"
    transition(rollout, "start", m.RUNNING, 0, reason, percents=planned_percents(rollout, 0), on_commit=on_commit)
    return rollout


def get_rollout(rollout_id: int) -> Rollout:
    """A rollout by id; 404 if there is none."""
    rollout = db.session.get(Rollout, rollout_id) if 0 < rollout_id <= MAX_ID else None
    if rollout is None:
        raise NotFound(f"no rollout with id {rollout_id}")
    return rollout


def list_rollouts(name: str) -> list[Rollout]:
    """Every rollout of a model name, newest first; 404 for an unknown name."""
    if db.session.scalar(select(ModelVersion.id).where(ModelVersion.name == name).limit(1)) is None:
        raise NotFound(f"no model named {name!r}")
    return list(db.session.scalars(select(Rollout).where(Rollout.model_name == name).order_by(Rollout.id.desc())))


def pause_rollout(rollout_id: int, reason: str = "paused by an operator") -> Rollout:
    """Stop a running rollout where it is; its split stays."""
    rollout = _locked(rollout_id)
    _check(lambda: m.pause(_state(rollout)))
    transition(rollout, "pause", m.PAUSED, rollout.step_index, reason)
    return rollout


def resume_rollout(rollout_id: int, on_commit: OnCommit | None = None) -> Rollout:
    """Run a paused rollout again: its current step's split is put back and its clock restarts."""
    rollout = _locked(rollout_id)
    _check(lambda: m.resume(_state(rollout), utcnow()))
    percents = planned_percents(rollout, rollout.step_index)
    transition(rollout, "resume", m.RUNNING, rollout.step_index, "resumed by an operator", percents=percents,
               on_commit=on_commit)  # fmt: skip
    return rollout


def promote_rollout(rollout_id: int, on_commit: OnCommit | None = None) -> Rollout:
    """Approve the manual gate a rollout waits at: it enters the gated step, whose clock starts now."""
    rollout = _locked(rollout_id)
    promoted = _check(lambda: m.promote(_state(rollout), utcnow()))
    following = promoted.step_index
    reason = f"promoted by an operator to step {following} ({rollout.steps[following]:g}%)"
    transition(rollout, "promote", m.RUNNING, following, reason, percents=planned_percents(rollout, following),
               on_commit=on_commit)  # fmt: skip
    return rollout


def abort_rollout(rollout_id: int, on_commit: OnCommit | None = None) -> Rollout:
    """End an active rollout and give the baseline its traffic back."""
    rollout = _locked(rollout_id)
    _check(lambda: m.abort(_state(rollout)))
    transition(rollout, "abort", m.ABORTED, rollout.step_index, "aborted by an operator",
               percents=planned_percents(rollout, None), on_commit=on_commit)  # fmt: skip
    return rollout


def active_rollout_ids() -> list[int]:
    """Ids of the running and paused rollouts."""
    return list(db.session.scalars(select(Rollout.id).where(Rollout.state.in_(m.ACTIVE_STATES)).order_by(Rollout.id)))


def _state(rollout: Rollout) -> m.State:
    return m.State(rollout.state, rollout.step_index, rollout.step_started_at, rollout.waiting_for)


def _check(transition_of) -> m.State:
    try:
        return transition_of()
    except m.InvalidTransition as exc:
        db.session.rollback()
        raise Conflict(str(exc)) from None


def _locked(rollout_id: int) -> Rollout:
    get_rollout(rollout_id)
    return db.session.scalars(
        select(Rollout).where(Rollout.id == rollout_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _usable(name: str, versions: dict[str, ModelVersion], label: str, role: str) -> ModelVersion:
    version = versions.get(label)
    if version is None:
        raise ValidationFailed(
            f"model {name!r} has no version {label!r} to be the {role}",
            {"field": role, "registered_versions": sorted(versions)},
        )
    if version.status == "archived":
        raise Conflict(f"version {label!r} is archived and cannot be the {role}")
    require_model(version)
    return version


def _baseline(name: str, versions: dict[str, ModelVersion], label: str | None, candidate: ModelVersion) -> ModelVersion:
    if label is None:
        others = [v for v in active_versions(name) if v.id != candidate.id and v.traffic_percent > 0]
        if not others:
            raise Conflict(f"model {name!r} has no other version with traffic to be the baseline")
        return max(others, key=lambda v: (v.traffic_percent, -_order(v.activated_at)))
    baseline = _usable(name, versions, label, "baseline")
    if baseline.id == candidate.id:
        raise ValidationFailed("the candidate and the baseline must be different versions", {"field": "baseline"})
    return baseline


def _order(activated_at: datetime | None) -> float:
    return activated_at.timestamp() if activated_at else 0.0


def _refuse_if_active(name: str) -> None:
    active = db.session.scalar(select(Rollout).where(Rollout.model_name == name, Rollout.state.in_(m.ACTIVE_STATES)))
    if active is not None:
        details = {"rollout_id": active.id, "state": active.state}
        raise Conflict(f"model {name!r} already has an active rollout", details)
