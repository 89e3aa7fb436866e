"""Decoding the batches web processes encode (`wire.py`): whole when they are sound, row by row when not.

Prediction logs and feedback share this: a batch names its fields and carries rows in that order.
A batch whose fields disagree with the worker's is our own bug, logged and counted, never retried;
a batch that fails as a whole keeps its good rows and logs each bad one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchFormat:
    """What a worker accepts for one kind of batch."""

    kind: str  # for log lines: "prediction logs", "feedback"
    fields: tuple[str, ...]
    batch: type[BaseModel]  # {"fields": [...], "rows": [row, ...]}
    row: TypeAdapter
    # Batches from web processes started before the last fields were appended (a rolling deploy)
    # have a prefix of `fields` at least this long; the fields they lack are nullable.
    oldest_fields: int | None = None


def decode(payload: str | bytes, batch_format: BatchFormat) -> tuple[list[tuple], int]:
    """The valid rows of a batch, and how many rows it held."""
    try:
        batch = batch_format.batch.model_validate_json(payload)
    except ValidationError:
        return _salvage(payload, batch_format)
    rows: list[tuple] = batch.rows  # type: ignore[attr-defined]
    if tuple(batch.fields) != batch_format.fields:  # type: ignore[attr-defined]
        log.error(
            "rejected a batch of %d %s: fields %s, expected %s",
            len(rows),
            batch_format.kind,
            batch.fields,  # type: ignore[attr-defined]
            batch_format.fields,
        )
        return [], len(rows)
    return rows, len(rows)


def _salvage(payload: str | bytes, batch_format: BatchFormat) -> tuple[list[tuple], int]:
    try:
        document = json.loads(payload)
        fields, raw_rows = document["fields"], document["rows"]
    except (ValueError, TypeError, KeyError) as exc:
        log.error("rejected an undecodable batch of %s: %s", batch_format.kind, exc)
        return [], 1
    fields, raw_rows = _padded(fields, raw_rows, batch_format)
    if not isinstance(raw_rows, list) or fields != list(batch_format.fields):
        log.error("rejected a batch of %s with fields %s", batch_format.kind, fields)
        return [], len(raw_rows) if isinstance(raw_rows, list) else 1
    rows = []
    for raw in raw_rows:
        try:
            # Re-encoded so each row meets the same JSON validator as the whole batch did.
            rows.append(batch_format.row.validate_json(json.dumps(raw)))
        except ValidationError as exc:
            key = raw[0] if isinstance(raw, list) and raw else None
            log.error("rejected one of a batch of %s (%s): %s", batch_format.kind, key, exc)
    return rows, len(raw_rows)


def _padded(fields: Any, raw_rows: Any, batch_format: BatchFormat) -> tuple[Any, Any]:
    """An older batch's fields and rows, completed with nulls for the fields appended since."""
    known, oldest = batch_format.fields, batch_format.oldest_fields
    if oldest is None or not isinstance(fields, list) or not isinstance(raw_rows, list):
        return fields, raw_rows
    if not oldest <= len(fields) < len(known) or fields != list(known[: len(fields)]):
        return fields, raw_rows
    missing = [None] * (len(known) - len(fields))
    return list(known), [[*raw, *missing] if isinstance(raw, list) else raw for raw in raw_rows]
