"""Reading the envelopes web processes send (`wire.py`): checked whole, their rows validated one by one.

Every stream's batch is a format-2 envelope around CSV rows. `check_envelope` says whether an
envelope is one this worker reads (format, fields, count, id); prediction logs go from there
straight into COPY (`ingest.py`). Feedback and failure records are validated first, row by row
(`decode`): an envelope this worker cannot read is handed back whole with its reason, and each
row that fails validation alone with its own, for the caller to quarantine; the rest are stored.

Upgrading: until the release before this one, feedback and failure batches travelled as a JSON
text `{"fields": [...], "rows": [[...], ...]}`. Such a batch, still queued on the broker or spooled
by a web process (a spool re-publishes a batch as it was written), is read here as before, for one
release, so none is lost; docs/pipeline.md says when this reader goes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .wire import LOG_BATCH_FORMAT

log = logging.getLogger(__name__)


class BatchRefused(Exception):
    """The batch cannot be stored as it is; it goes to quarantine."""


def check_envelope(envelope: Any, fields: tuple[str, ...], min_count: int = 1) -> tuple[uuid.UUID, int]:
    """The envelope's batch id and row count, once its shape is what this worker reads."""
    if not isinstance(envelope, dict) or envelope.get("format") != LOG_BATCH_FORMAT:
        raise BatchRefused(f"not a format-{LOG_BATCH_FORMAT} batch")
    if envelope.get("fields") != list(fields):
        raise BatchRefused(f"fields {envelope.get('fields')}, expected {list(fields)}")
    count, rows = envelope.get("count"), envelope.get("rows")
    if not isinstance(count, int) or isinstance(count, bool) or count < min_count or not isinstance(rows, str):
        raise BatchRefused(f"count must be an integer of at least {min_count} and rows a CSV text")
    try:
        return uuid.UUID(str(envelope.get("batch_id"))), count
    except ValueError as exc:
        raise BatchRefused(f"batch_id: {exc}") from exc


def csv_rows(text: str) -> list[list[str | None]]:
    """An envelope's CSV text as rows of fields; an empty field is None, as COPY reads it (NULL)."""
    return [[value or None for value in values] for values in csv.reader(io.StringIO(text, newline=""))]


@dataclass(frozen=True)
class BatchFormat:
    """What a worker accepts for one stream whose rows it validates."""

    kind: str  # for log lines: "feedback", "prediction errors"
    fields: tuple[str, ...]
    row: TypeAdapter  # one row, its values in `fields` order


@dataclass
class Decoded:
    """A batch's valid rows, how many rows it held, and what was refused (a row or the whole payload) and why."""

    rows: list[tuple]
    received: int
    refused: list[tuple[Any, str]] = field(default_factory=list)


def decode(payload: dict[str, Any] | str | bytes, batch_format: BatchFormat) -> Decoded:
    """The valid rows of a batch; whatever is not valid comes back with its reason, never silently dropped."""
    if isinstance(payload, (str, bytes)):
        return _decode_json(payload, batch_format)
    try:
        _, count = check_envelope(payload, batch_format.fields, min_count=0)
        raw_rows = csv_rows(payload["rows"])
        if len(raw_rows) != count:
            raise BatchRefused(f"the envelope says {count} rows, its text holds {len(raw_rows)}")
    except (BatchRefused, csv.Error) as exc:
        count = payload.get("count") if isinstance(payload, dict) else None
        received = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
        log.error("rejected a batch of %s: %s", batch_format.kind, exc)
        return Decoded([], received, [(payload, str(exc))])
    return _validated(raw_rows, batch_format)


def _validated(raw_rows: list[Any], batch_format: BatchFormat) -> Decoded:
    decoded = Decoded([], len(raw_rows))
    for raw in raw_rows:
        try:
            decoded.rows.append(batch_format.row.validate_python(raw))
        except ValidationError as exc:
            reason = "; ".join(f"{error['loc']}: {error['msg']}" for error in exc.errors(include_url=False))
            log.error("rejected one of a batch of %s: %s", batch_format.kind, reason)
            decoded.refused.append((raw, reason))
    return decoded


def _decode_json(payload: str | bytes, batch_format: BatchFormat) -> Decoded:
    """A batch in the JSON form of earlier releases (see the module's docstring): read for one release."""
    try:
        document = json.loads(payload)
        fields, raw_rows = document["fields"], document["rows"]
    except (ValueError, TypeError, KeyError) as exc:
        log.error("rejected an undecodable batch of %s: %s", batch_format.kind, exc)
        return Decoded([], 1, [(_text(payload), f"not a batch: {exc}")])
    if not isinstance(raw_rows, list) or fields != list(batch_format.fields):
        log.error("rejected a batch of %s with fields %s", batch_format.kind, fields)
        received = len(raw_rows) if isinstance(raw_rows, list) else 1
        return Decoded([], received, [(_text(payload), f"fields {fields}, expected {list(batch_format.fields)}")])
    return _validated(raw_rows, batch_format)


def _text(payload: str | bytes) -> str:
    return payload.decode("utf-8", "backslashreplace") if isinstance(payload, bytes) else payload
