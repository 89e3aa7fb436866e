"""The failure stream: records of failed predictions travel like feedback, in batches off the request thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..ids import new_uuid4
from ..logpipe.streams import Stream
from ..logpipe.wire import CsvRows
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
ERROR_ROWS = CsvRows(ERROR_FIELDS)
encode_error_batch = ERROR_ROWS.encode

# Spooled apart from prediction logs and feedback, under SPOOL_DIR/errors.
ERRORS = Stream(
    name="errors",
    task=WRITE_ERRORS_TASK,
    spool_subdir="errors",
    encode_record=ERROR_ROWS.row,
    encode_batch=ERROR_ROWS.batch,
    serializer="msgpack",
)


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
