"""Tables of the shadow comparison: what each mirrored prediction contributes, and the totals.

Apart from `tables.py` so the shadow work and the experiment tables can change independently.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class ShadowPair(db.Model):
    """A shadow prediction matched with the served one it mirrored, as last counted into the totals.

    Keyed on the shadow's prediction_id, so a log row stored twice still counts once. A row exists
    only once the served prediction's log is stored; `true_label` is its latest labelled feedback.
    `shadow_created_at` is the shadow's log time: log retention forgets the pair with its day (the
    totals keep it), since a pair whose shadow row is gone is never a refresh's candidate again.
    """

    __tablename__ = "shadow_pairs"

    shadow_prediction_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    shadow_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    shadow_model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    served_model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    shadow_label: Mapped[str] = mapped_column(String(8))
    served_label: Mapped[str] = mapped_column(String(8))
    true_label: Mapped[str | None] = mapped_column(String(8))


class ShadowComparison(db.Model):
    """Running totals of one shadow version against one served version, over the requests both answered.

    Counts only, so agreement, both accuracies and McNemar's discordant pairs stay exact.
    """

    __tablename__ = "shadow_comparisons"

    shadow_model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    served_model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    pairs: Mapped[int] = mapped_column(BigInteger, default=0)
    agreements: Mapped[int] = mapped_column(BigInteger, default=0)
    labelled_pairs: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    served_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_only_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    served_only_correct: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
