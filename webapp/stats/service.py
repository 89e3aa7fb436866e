"""What the statistics views share: the model name they are asked about must exist."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import ModelVersion


def known_name(name: str | None) -> str | None:
    """`name` when some version (archived ones included) carries it, or None for no filter; else 404."""
    if (
        name is not None
        and db.session.scalar(select(ModelVersion.id).where(ModelVersion.name == name).limit(1)) is None
    ):
        raise NotFound(f"no model named {name!r}")
    return name
