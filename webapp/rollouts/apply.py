"""Applying a rollout's transitions: state, history, audit, webhook outbox and split change in ONE transaction.

The caller holds the rollout's row lock (SELECT ... FOR UPDATE). Each transition is a
compare-and-set on (id, expected state, expected step), then the split goes through the split
service's slot logic (`set_split`), whose commit carries all of it: a worker killed halfway leaves
neither the new step nor the new split, and a second evaluator can never apply a step twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select, update

from ..audit.trail import current_actor, record
from ..errors import Conflict
from ..extensions import db
from ..models import ModelVersion, RoutingState, utcnow
from ..registry.service import OnCommit
from ..registry.split_service import set_split
from ..registry.splits import active_versions
from .machine import Check
from .models import Rollout, RolloutEvent
from .webhooks import queue_deliveries, send_queued


def planned_percents(rollout: Rollout, step_index: int | None) -> tuple[Decimal, Decimal]:
    """(candidate, baseline) percents at a step; None: everything back to the baseline."""
    pool = Decimal(str(rollout.pool))
    if step_index is None:
        return Decimal(0), pool
    candidate = (pool * Decimal(str(rollout.steps[step_index])) / 100).quantize(Decimal("0.01"))
    return candidate, pool - candidate


def current_percents(rollout: Rollout) -> tuple[Decimal, Decimal]:
    """(candidate, baseline) percents as the registry has them now (0 when inactive)."""
    found = {version.id: Decimal(version.traffic_percent) for version in active_versions(rollout.model_name)}
    return found.get(rollout.candidate_id, Decimal(0)), found.get(rollout.baseline_id, Decimal(0))


def transition(
    rollout: Rollout,
    action: str,
    state: str,
    step_index: int,
    reason: str,
    checks: Sequence[Check] = (),
    percents: tuple[Decimal, Decimal] | None = None,
    on_commit: OnCommit | None = None,
    waiting_for: str | None = None,
) -> None:
    """Move the locked rollout to (state, step) and, with `percents`, its two versions; commit.

    With `percents`, the step's clock restarts; when the two versions already hold them (a resume
    after a pause that left the split alone) the split is not touched, and the step's requests count
    from the routing-config version in place.
    """
    expected = (rollout.state, rollout.step_index)
    now = utcnow()
    # Holding the routing lock first makes the config version our split change gets exactly this + 1.
    config_version = db.session.scalar(select(RoutingState.version).where(RoutingState.id == 1).with_for_update())
    changed = db.session.execute(
        update(Rollout)
        .where(Rollout.id == rollout.id, Rollout.state == expected[0], Rollout.step_index == expected[1])
        .values(state=state, step_index=step_index, reason=reason, evaluated_at=now, checks=_numbers(checks))
        .values(waiting_for=waiting_for)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict(f"rollout {rollout.id} changed while this transition was decided", {"expected": expected})
    moves = percents is not None and percents != current_percents(rollout)
    if percents is not None:
        rollout.step_started_at, rollout.step_config_version = now, config_version + (1 if moves else 0)
    candidate_percent = float(percents[0] if percents else current_percents(rollout)[0])
    db.session.add(
        RolloutEvent(
            rollout_id=rollout.id, at=now, action=action, state=state, step_index=step_index,
            candidate_percent=candidate_percent, reason=reason, numbers=_numbers(checks), actor=current_actor(),
        )
    )  # fmt: skip
    audit = {"rollout_id": rollout.id, "state": state, "step_index": step_index, "reason": reason}
    record(f"rollout.{action}", rollout.model_name, rollout.candidate_id, {"state": expected[0]}, audit)
    deliveries = queue_deliveries(rollout, action, candidate_percent, reason, now)  # the outbox, this transaction
    if moves:
        set_split(rollout.model_name, _weights(rollout, *percents), on_commit=on_commit)
    else:
        db.session.commit()
    send_queued(deliveries)


def _weights(rollout: Rollout, candidate: Decimal, baseline: Decimal) -> dict[str, Decimal]:
    """The name's whole split with the two versions at these percents; a version at 0 goes inactive."""
    labels = {
        version.id: version.version
        for version in db.session.scalars(
            select(ModelVersion).where(ModelVersion.id.in_([rollout.candidate_id, rollout.baseline_id]))
        )
    }
    weights = {
        version.version: Decimal(version.traffic_percent)
        for version in active_versions(rollout.model_name)
        if version.id not in labels
    }
    for model_id, percent in ((rollout.baseline_id, baseline), (rollout.candidate_id, candidate)):
        if percent > 0:
            weights[labels[model_id]] = percent
    return weights


def _numbers(checks: Sequence[Check]) -> list[dict]:
    return [check.as_dict() for check in checks]
