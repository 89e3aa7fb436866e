"""The feedback pipeline: the prediction logs' buffer, shipper and spool, with its own task and files."""

from __future__ import annotations

from pathlib import Path

from celery import Celery

from ..config import Settings
from ..logpipe.buffer import LogBuffer
from ..logpipe.chain import shipping_buffer
from ..logpipe.wire import encode_feedback_batch
from ..tasks import WRITE_FEEDBACK_TASK


def feedback_spool_dir(settings: Settings) -> Path:
    """Feedback spools and counts apart from prediction logs, in a subdirectory of the log spool."""
    return settings.spool_path / "feedback"


def feedback_buffer(celery: Celery, settings: Settings) -> LogBuffer:
    """A buffer that ships feedback as `feedback.write_batch` tasks, spooling while the broker is down."""
    return shipping_buffer(
        celery,
        settings,
        directory=feedback_spool_dir(settings),
        task_name=WRITE_FEEDBACK_TASK,
        encode=encode_feedback_batch,
        thread_name="feedback-shipper",
    )
