"""What the experiment report says about a bandit or rollout moving a name's weights (`experiments.movers`)."""

from __future__ import annotations

from sqlalchemy import select

from ..experiments.schemas import AllocationOut
from ..extensions import db
from .models import Bandit, Rollout

BANDIT_NOTE = (
    "a Thompson-sampling bandit moves the weights every update; each update is a split change, so SRM is "
    "checked against the current epoch's weights only. Arm totals pool every epoch and are not corrected for "
    "the changing allocation: read them as descriptive; `stratified` holds the corrected comparison"
)
ROLLOUT_NOTE = "a canary rollout moves the weights step by step; SRM is checked within the current step's epoch"


def moving_allocation(model_name: str) -> AllocationOut | None:
    """The running bandit or active rollout of the name, if any."""
    bandit = db.session.scalar(select(Bandit).where(Bandit.model_name == model_name, Bandit.state == "running"))
    if bandit is not None:
        return AllocationOut(mode="bandit", id=bandit.id, state=bandit.state, note=BANDIT_NOTE)
    rollout = db.session.scalar(
        select(Rollout).where(Rollout.model_name == model_name, Rollout.state.in_(("running", "paused")))
    )
    if rollout is not None:
        return AllocationOut(mode="rollout", id=rollout.id, state=rollout.state, note=ROLLOUT_NOTE)
    return None


def had_bandit(model_name: str) -> bool:
    """Whether a bandit runs, or ever ran, on this name."""
    return db.session.scalar(select(Bandit.id).where(Bandit.model_name == model_name).limit(1)) is not None
