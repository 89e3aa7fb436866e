"""Counts of failed predictions, for the rollout guardrail and /models/stats."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ..extensions import db
from .models import PredictionError

ROUTED = ("sticky", "random")


def routed_errors_since(model_id: uuid.UUID, first_config_version: int) -> int:
    """A version's failed routed requests under the routing-config versions from `first_config_version` on.

    The same window and the same routings as the rollout's step requests (allocation_counts), so the
    two make one error rate. Explicit requests are left out: nobody routed them to the version.
    """
    count = db.session.scalar(
        select(func.count()).where(
            PredictionError.model_id == model_id,
            PredictionError.config_version >= first_config_version,
            PredictionError.routing.in_(ROUTED),
        )
    )
    return int(count or 0)


def error_counts(model_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Every failed prediction per version, whatever its routing."""
    if not model_ids:
        return {}
    rows = db.session.execute(
        select(PredictionError.model_id, func.count())
        .where(PredictionError.model_id.in_(model_ids))
        .group_by(PredictionError.model_id)
    )
    return {model_id: int(count) for model_id, count in rows}
