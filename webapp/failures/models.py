"""The prediction_errors table: one row per /predict that failed after routing picked a version."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PredictionError(db.Model):
    """A failed prediction: which version, under which routing config, and what kind of failure."""

    __tablename__ = "prediction_errors"
    __table_args__ = (Index("ix_prediction_errors_model_id_config_version", "model_id", "config_version"),)

    # Made by the web process: a redelivered batch inserts nothing twice.
    error_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    model_version: Mapped[str] = mapped_column(String(64))
    routing: Mapped[str] = mapped_column(String(8))
    config_version: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[int] = mapped_column(SmallInteger)
    error_class: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # retention deletes by it
