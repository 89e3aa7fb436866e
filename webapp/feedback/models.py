"""Tables of the feedback domain: the latest feedback on each prediction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Feedback(db.Model):
    """The latest feedback on one prediction, and what the stats refresh last counted for it.

    A second feedback for the same prediction replaces the first. The `counted_*` columns are the
    contribution the refresh has folded into the outcome totals, so a replacement can take the old
    one back out. A row with no `counted_model_id` has not been matched with its prediction log
    yet. The row also has `txid xid8` (see the migration), set by every write, which lets the
    refresh read exactly the rows written since its last run. `revision` is no longer read (the
    refresh follows `txid`); it stays, NOT NULL and written as 0, until a later migration drops it
    once no running process still writes it.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        # Small by design: only feedback still waiting for its prediction log.
        Index(
            "ix_feedback_unmatched_received_at",
            "received_at",
            postgresql_where=text("counted_model_id IS NULL"),
        ),
        Index("ix_feedback_revision", "revision"),
    )

    prediction_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(8))
    reward: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # retention deletes by it
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_model_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    counted_label: Mapped[str | None] = mapped_column(String(8))
    counted_prediction: Mapped[str | None] = mapped_column(String(8))
    counted_reward: Mapped[float | None] = mapped_column(Float)
