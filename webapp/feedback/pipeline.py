"""The feedback pipeline: the prediction logs' buffer, shipper and spool, with its own task and files."""

from __future__ import annotations

from celery import Celery

from celeryconfig import WRITE_FEEDBACK_TASK

from ..config import Settings
from ..logpipe.buffer import LogBuffer
from ..logpipe.publisher import CeleryPublisher
from ..logpipe.shipper import Shipper
from ..logpipe.spool import Spool
from ..logpipe.wire import encode_feedback_batch


def feedback_spool_dir(settings: Settings):
    """Feedback spools and counts apart from prediction logs, in a subdirectory of the log spool."""
    return settings.spool_path / "feedback"


def feedback_buffer(celery: Celery, settings: Settings) -> LogBuffer:
    """A buffer that ships feedback as `feedback.write_batch` tasks, spooling while the broker is down."""
    directory = feedback_spool_dir(settings)
    publisher = CeleryPublisher(
        celery, timeout_seconds=settings.broker_timeout_seconds, task_name=WRITE_FEEDBACK_TASK,
        encode=encode_feedback_batch,
    )  # fmt: skip
    shipper = Shipper(
        publisher.publish, Spool(directory, settings.spool_max_records), batch_size=settings.log_batch_size
    )
    return LogBuffer(
        shipper, directory, flush_seconds=settings.log_flush_seconds, batch_size=settings.log_batch_size,
        name="feedback-shipper",
    )  # fmt: skip
