"""Accepting feedback: no I/O, only the in-process buffer, like a prediction's log record."""

from __future__ import annotations

from datetime import UTC, datetime

from ..predict.service import LogSink
from .schemas import FeedbackAccepted, FeedbackRecord


def submit_feedback(records: list[FeedbackRecord], sink: LogSink) -> FeedbackAccepted:
    """Queue each prediction's latest record; earlier ones for the same prediction in this request are rejected."""
    latest = {record.prediction_id.lower(): record for record in records}  # a later record replaces an earlier one
    received_at = datetime.now(UTC).isoformat()
    for prediction_id, record in latest.items():
        sink.append(
            {"prediction_id": prediction_id, "label": record.label, "reward": record.reward, "received_at": received_at}
        )
    return FeedbackAccepted(accepted=len(latest), rejected=len(records) - len(latest))
