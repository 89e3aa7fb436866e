"""One declaration per stream of records the web ships to the workers, and the chain built from it.

A `Stream` says everything that differs between prediction logs, feedback and failure records:
the task its batches travel as, where it spools, how a record becomes its wire form (on the
request thread) and how those make a batch (on the shipping thread), and the serializer. The three
declarations live beside their records' fields: `wire.PREDICTION_LOGS`, `feedback.pipeline.FEEDBACK`,
`failures.pipeline.ERRORS`. `shipping_buffer` builds the same chain for each:

    LogBuffer.append → Shipper.ship → CeleryPublisher.publish, or Spool.write while the broker is down

Every count a chain makes goes to Prometheus, labelled with the stream's name (`metrics/instruments.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

from ..config import Settings
from .buffer import LogBuffer
from .publisher import CeleryPublisher
from .shipper import Shipper
from .spool import Spool


@dataclass(frozen=True)
class Stream:
    """What one kind of record needs to travel from a web process to a worker."""

    name: str  # the `stream` label of its metrics, and its section of /health
    task: str  # the Celery task each batch travels as
    spool_subdir: str  # under SPOOL_DIR; "" for the spool's root
    encode_record: Callable[[dict[str, Any]], Any]  # a record's wire form, made on the request thread
    encode_batch: Callable[[list[Any]], Any]  # those of a batch as the task's single argument
    serializer: str = "json"  # Celery's, for the task message

    def spool_dir(self, settings: Settings) -> Path:
        return settings.spool_path / self.spool_subdir


def shipping_buffer(celery: Celery, settings: Settings, stream: Stream) -> LogBuffer:
    """A buffer whose records travel as `stream.task` batches, spooled while the broker is down."""
    publisher = CeleryPublisher(
        celery,
        settings.broker_timeout_seconds,
        settings.broker_confirm_timeout_seconds,
        task_name=stream.task,
        serializer=stream.serializer,
    )
    spool = Spool(stream.spool_dir(settings), settings.spool_max_records, settings.spool_max_bytes, stream=stream.name)
    shipper = Shipper(publisher.publish, spool, stream.encode_batch, stream=stream.name)
    return LogBuffer(
        shipper,
        settings.log_flush_seconds,
        settings.log_batch_size,
        encode_record=stream.encode_record,
        name=f"{stream.name}-shipper",
    )
