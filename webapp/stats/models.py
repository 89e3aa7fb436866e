"""Tables the stats refresh materializes beside the ones in webapp/models.py and experiments/models.py."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, SmallInteger, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class CalibrationBin(db.Model):
    """Labelled predictions of a version whose confidence fell in one bin: how many, how many right,
    and their confidences' sum (webapp/statistics/calibration.py)."""

    __tablename__ = "calibration_bins"

    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    bin: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    labelled: Mapped[int] = mapped_column(BigInteger, default=0)
    correct: Mapped[int] = mapped_column(BigInteger, default=0)
    confidence_sum: Mapped[Decimal] = mapped_column(Numeric(24, 4), default=Decimal(0))
