"""The feedback stream: records of POST /feedback travel like prediction logs, as `feedback.write_batch` tasks."""

from __future__ import annotations

from ..logpipe.streams import Stream
from ..logpipe.wire import FEEDBACK_ROWS
from ..tasks import WRITE_FEEDBACK_TASK

# Spooled apart from prediction logs, under SPOOL_DIR/feedback; its batches are format-2 envelopes (`wire.CsvRows`).
FEEDBACK = Stream(
    name="feedback",
    task=WRITE_FEEDBACK_TASK,
    spool_subdir="feedback",
    encode_record=FEEDBACK_ROWS.row,
    encode_batch=FEEDBACK_ROWS.batch,
    serializer="msgpack",
)
