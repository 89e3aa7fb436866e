"""Decoding the batches web processes encode (`wire.py`): whole when they are sound, row by row when not.

Feedback and failure records share this: a batch names its fields and carries rows in that order.
A batch whose fields disagree with the worker's is our own bug, logged and counted, never retried;
a batch that fails as a whole keeps its good rows and hands back each bad one with its reason, for
the caller to quarantine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
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


@dataclass
class Decoded:
    """A batch's valid rows, how many rows it held, and what was refused (a row or the whole payload) and why."""

    rows: list[tuple]
    received: int
    refused: list[tuple[Any, str]] = field(default_factory=list)


def decode(payload: str | bytes, batch_format: BatchFormat) -> Decoded:
    """The valid rows of a batch; whatever is not valid comes back with its reason, never silently dropped."""
    try:
        batch = batch_format.batch.model_validate_json(payload)
    except ValidationError:
        return _salvage(payload, batch_format)
    rows: list[tuple] = batch.rows  # type: ignore[attr-defined]
    if tuple(batch.fields) != batch_format.fields:  # type: ignore[attr-defined]
        reason = f"fields {batch.fields}, expected {list(batch_format.fields)}"  # type: ignore[attr-defined]
        log.error("rejected a batch of %d %s: %s", len(rows), batch_format.kind, reason)
        return Decoded([], len(rows), [(_text(payload), reason)])
    return Decoded(rows, len(rows))


def _salvage(payload: str | bytes, batch_format: BatchFormat) -> Decoded:
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
    decoded = Decoded([], len(raw_rows))
    for raw in raw_rows:
        try:
            # Re-encoded so each row meets the same JSON validator as the whole batch did.
            decoded.rows.append(batch_format.row.validate_json(json.dumps(raw)))
        except ValidationError as exc:
            reason = "; ".join(f"{error['loc']}: {error['msg']}" for error in exc.errors(include_url=False))
            log.error("rejected one of a batch of %s: %s", batch_format.kind, reason)
            decoded.refused.append((raw, reason))
    return decoded


def _text(payload: str | bytes) -> str:
    return payload.decode("utf-8", "backslashreplace") if isinstance(payload, bytes) else payload
