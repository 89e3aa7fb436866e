"""Folds routed traffic into per-(version, config version) counts, inside the stats refresh.

Requests routed sticky or at random count; explicit ones chose their version and do not. Sticky
users are also kept (once per version and config version): for sticky routing the user, not the
request, is the unit that was randomized, so the SRM check counts users.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement

from ...experiments.models import AllocationCount, AllocationUser
from ...extensions import db
from ...models import PredictionLog

_ROUTED = (PredictionLog.routing != "explicit") & PredictionLog.config_version.is_not(None)


def fold_allocations(window: ColumnElement[bool]) -> None:
    """Add the routed requests and sticky users of the log rows in `window`."""
    counts = db.session.execute(
        select(
            PredictionLog.model_id,
            PredictionLog.config_version,
            func.sum(case((PredictionLog.routing == "sticky", 1), else_=0)),
            func.sum(case((PredictionLog.routing == "random", 1), else_=0)),
        )
        .where(window, _ROUTED)
        .group_by(PredictionLog.model_id, PredictionLog.config_version)
    ).all()
    for model_id, config_version, sticky, random in counts:
        row = db.session.get(AllocationCount, (model_id, config_version))
        if row is None:
            row = AllocationCount(model_id=model_id, config_version=config_version, sticky_count=0, random_count=0)
            db.session.add(row)
        row.sticky_count += int(sticky)
        row.random_count += int(random)
    if counts:
        _add_sticky_users(window)


def _add_sticky_users(window: ColumnElement[bool]) -> None:
    users = (
        select(PredictionLog.model_id, PredictionLog.config_version, PredictionLog.user_id)
        .where(window, _ROUTED, PredictionLog.routing == "sticky", PredictionLog.user_id.is_not(None))
        .distinct()
    )
    statement = insert(AllocationUser.__table__).from_select(["model_id", "config_version", "user_id"], users)
    db.session.execute(statement.on_conflict_do_nothing())
