"""The failure pipeline: records of failed predictions travel like feedback, in batches off the request thread."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from celery import Celery

from ..config import Settings
from ..ids import new_uuid4
from ..logpipe.buffer import LogBuffer
from ..logpipe.chain import shipping_buffer
from ..logpipe.wire import encode_batch
from ..tasks import WRITE_ERRORS_TASK

ERROR_FIELDS = (
    "error_id",
    "model_id",
    "model_version",
    "routing",
    "config_version",
    "status",
    "error_class",
    "created_at",
)


def encode_error_batch(records: list[dict[str, Any]]) -> str:
    """A batch of failure records (dicts keyed by `ERROR_FIELDS`) as the task's single argument."""
    return encode_batch(records, ERROR_FIELDS)


def failure_record(
    model_id: str, model_version: str, routing: str, config_version: int | None, status: int, error: Exception
) -> dict[str, Any]:
    """What a failed prediction leaves behind: the version, the routing, and the class of the error, not its text."""
    return {
        "error_id": new_uuid4(),
        "model_id": model_id,
        "model_version": model_version,
        "routing": routing,
        "config_version": config_version,
        "status": status,
        "error_class": f"{type(error).__module__}.{type(error).__qualname__}"[-128:],
        "created_at": datetime.now(UTC).isoformat(),
    }


def errors_spool_dir(settings: Settings) -> Path:
    """Failure records spool apart from prediction logs and feedback."""
    return settings.spool_path / "errors"


def error_buffer(celery: Celery, settings: Settings) -> LogBuffer:
    """A buffer that ships failure records as `errors.write_batch` tasks, spooling while the broker is down."""
    return shipping_buffer(
        celery,
        settings,
        directory=errors_spool_dir(settings),
        task_name=WRITE_ERRORS_TASK,
        encode=encode_error_batch,
        thread_name="error-shipper",
    )
