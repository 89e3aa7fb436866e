"""Bandit mode: start, stop, and the periodic Thompson-sampling update, applied through the split service.

The arms share the whole of the name's traffic (other versions go inactive at start). Every update
reads each arm's materialized outcome totals, computes P(best) with a seed of (bandit id, update
number) so an update can be recomputed exactly, and applies it with `set_split` (minimal churn),
all in one transaction with a compare-and-set on the update counter and the audit entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..audit.trail import record
from ..errors import Conflict, NotFound, ValidationFailed
from ..experiments.epoch_outcomes import epoch_samples
from ..experiments.models import OutcomeStats
from ..extensions import db
from ..models import ModelVersion, utcnow
from ..registry.service import OnCommit
from ..registry.split_service import set_split
from ..schemas import weight_number
from ..statistics.stratified import standardized_rates
from .models import Bandit, Rollout
from .schemas import BanditOut, BanditRequest
from .thompson import floored_percents, thompson_weights


def start_bandit(name: str, request: BanditRequest, on_commit: OnCommit | None = None) -> Bandit:
    """Start a bandit over `request.versions` at equal weights; 409 if the name has a rollout or a bandit."""
    versions = {v.version: v for v in db.session.scalars(select(ModelVersion).where(ModelVersion.name == name))}
    if not any(v.status != "archived" for v in versions.values()):
        raise NotFound(f"no model named {name!r}")
    unknown = sorted(label for label in request.versions if label not in versions)
    if unknown:
        raise ValidationFailed(f"model {name!r} has no version {', '.join(unknown)}", {"unknown_versions": unknown})
    active = select(Rollout.id).where(Rollout.model_name == name, Rollout.state.in_(("running", "paused")))
    if db.session.scalar(active) is not None:
        raise Conflict(f"model {name!r} has an active rollout; a bandit would fight it")
    weights = dict(zip(request.versions, floored_percents([1] * len(request.versions), 0), strict=True))
    bandit = Bandit(
        model_name=name, version_ids=[str(versions[label].id) for label in request.versions], metric=request.metric,
        update_seconds=request.update_seconds, min_per_arm=request.min_per_arm, floor_percent=request.floor_percent,
        state="running", updates=0, weights={k: weight_number(v) for k, v in weights.items()},
        reason="started at equal weights", updated_at=utcnow(), created_at=utcnow(),
    )  # fmt: skip
    db.session.add(bandit)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"model {name!r} already has a running bandit") from None
    record("bandit.start", name, None, None, {"bandit_id": bandit.id, "weights": bandit.weights})
    set_split(name, weights, on_commit=on_commit)
    return bandit


def running_bandit(name: str) -> Bandit:
    """The name's running bandit; 404 if none."""
    bandit = db.session.scalar(select(Bandit).where(Bandit.model_name == name, Bandit.state == "running"))
    if bandit is None:
        raise NotFound(f"model {name!r} has no running bandit")
    return bandit


def stop_bandit(name: str) -> Bandit:
    """Stop the name's bandit; the last weights stay."""
    bandit = running_bandit(name)
    bandit.state, bandit.reason, bandit.updated_at = "stopped", "stopped by an operator", utcnow()
    record("bandit.stop", name, None, {"state": "running"}, {"bandit_id": bandit.id, "weights": bandit.weights})
    db.session.commit()
    return bandit


def running_bandit_ids() -> list[int]:
    ids = list(db.session.scalars(select(Bandit.id).where(Bandit.state == "running").order_by(Bandit.id)))
    db.session.rollback()
    return ids


def update_due_bandits(now: datetime, on_commit: OnCommit | None = None) -> list[tuple[int, str]]:
    """Apply one Thompson update to every running bandit whose cadence has come; (id, what happened)."""
    ids = running_bandit_ids()
    return [(bandit_id, update_bandit(bandit_id, now, on_commit)) for bandit_id in ids]


def update_bandit(bandit_id: int, now: datetime, on_commit: OnCommit | None = None) -> str:
    """One update under the bandit's row lock (skipped when another pass holds it)."""
    bandit = db.session.scalars(
        select(Bandit).where(Bandit.id == bandit_id, Bandit.state == "running").with_for_update(skip_locked=True)
    ).one_or_none()
    if bandit is None or now - bandit.updated_at < timedelta(seconds=bandit.update_seconds):
        db.session.rollback()
        return "not due"
    ids = [uuid.UUID(model_id) for model_id in bandit.version_ids]
    labels = _labels(ids)
    successes, trials = _outcomes(ids, bandit.metric, bandit.model_name)
    short = [labels[i] for i, n in zip(ids, trials, strict=True) if n < bandit.min_per_arm]
    if short:
        bandit.reason = f"waiting for {bandit.min_per_arm} outcomes on every arm: {', '.join(short)} short"
        db.session.commit()
        return "hold"
    weights = thompson_weights(successes, trials, bandit.floor_percent, seed=bandit.id * 1_000_003 + bandit.updates)
    new = {labels[i]: weight for i, weight in zip(ids, weights, strict=True)}
    changed = db.session.execute(
        update(Bandit).where(Bandit.id == bandit.id, Bandit.updates == bandit.updates)
        .values(updates=bandit.updates + 1, weights={k: weight_number(v) for k, v in new.items()}, updated_at=now,
                reason=f"update {bandit.updates + 1}: P(best) from {[int(n) for n in trials]} outcomes")
    ).rowcount  # fmt: skip
    if changed != 1:
        db.session.rollback()
        return "skipped"
    before = bandit.weights
    record("bandit.update", bandit.model_name, None, before, {k: weight_number(v) for k, v in new.items()})
    set_split(bandit.model_name, new, on_commit=on_commit)
    return "update"


def _outcomes(ids: list[uuid.UUID], metric: str, model_name: str | None = None) -> tuple[list[float], list[float]]:
    """Per arm: successes and trials. Rewards in [0, 1] count as fractional successes.

    Stratified by allocation epoch, as the experiment's estimates are, when the log holds routed outcomes
    of every arm in a shared epoch; the pooled totals otherwise.
    """
    stratified = _stratified_outcomes(ids, metric, model_name) if model_name is not None else None
    if stratified is not None:
        return stratified
    rows = {row.model_id: row for row in db.session.scalars(select(OutcomeStats).where(OutcomeStats.model_id.in_(ids)))}
    successes, trials = [], []
    for model_id in ids:
        row = rows.get(model_id)
        if row is None:
            successes.append(0.0), trials.append(0.0)
        elif metric == "accuracy":
            successes.append(float(row.correct_count)), trials.append(float(row.labelled_count))
        else:
            successes.append(float(Decimal(row.reward_sum))), trials.append(float(row.reward_count))
    return successes, trials


def _stratified_outcomes(ids: list[uuid.UUID], metric: str, model_name: str) -> tuple[list[float], list[float]] | None:
    """Each arm's rate reweighted to the same mix of epochs, as (rate x effective n, effective n); None without."""
    keys = [str(model_id) for model_id in ids]
    epochs = epoch_samples(model_name, dict(zip(ids, keys, strict=True)))
    rates = standardized_rates(epochs["accuracy" if metric == "accuracy" else "mean_reward"], keys)
    if rates is None:
        return None
    return [rate * n for rate, n in rates], [n for _, n in rates]


def bandit_out(bandit: Bandit) -> BanditOut:
    """The bandit as the API answers it."""
    ids = [uuid.UUID(model_id) for model_id in bandit.version_ids]
    labels = _labels(ids)
    return BanditOut(
        id=bandit.id, model_name=bandit.model_name, state=bandit.state, metric=bandit.metric,
        versions=[labels.get(i, str(i)) for i in ids], weights=bandit.weights, updates=bandit.updates,
        update_seconds=bandit.update_seconds, min_per_arm=bandit.min_per_arm, floor_percent=bandit.floor_percent,
        reason=bandit.reason, updated_at=bandit.updated_at, created_at=bandit.created_at,
    )  # fmt: skip


def _labels(ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    query = select(ModelVersion.id, ModelVersion.version).where(ModelVersion.id.in_(ids))
    return dict(db.session.execute(query).all())
