"""Receive a model file, check it, and store it once, by its sha256.

Nothing is written until the file has been received whole, hashed and checked; the registry then
commits the artifact row, its chunks, the version's pointer and the audit entry together, so a
refused or interrupted upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select

from ..errors import PayloadTooLarge
from ..extensions import db
from ..models import utcnow
from .archive import UNPACKED_FACTOR
from .checks import CheckedModel, check
from .models import CHUNK_BYTES, Artifact
from .store import PostgresArtifactStore

FORMAT = "skops"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    probe_budget_seconds: float


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size_bytes: int


@contextmanager
def received(source: BinaryIO, length: int | None, max_bytes: int, directory: Path) -> Iterator[Received]:
    """The body in a temporary file, hashed as it arrives: never in memory whole, gone afterwards.

    413 before a byte is read when the declared length is over the limit, or as soon as a body
    without one passes it.
    """
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes, length)
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".upload") as spool:
        remaining = length if length is not None else max_bytes + 1
        while remaining > 0 and (chunk := source.read(min(CHUNK_BYTES, remaining))):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes, None)
            digest.update(chunk)
            spool.write(chunk)
            remaining -= len(chunk)
        spool.flush()
        yield Received(Path(spool.name), digest.hexdigest(), size)


def checked_unless_stored(upload: Received, limits: Limits) -> CheckedModel | None:
    """The check of a file not stored yet (None for bytes already stored, checked when they first came).

    It takes seconds and touches no database: callers run it before they take any lock.
    """
    if db.session.get(Artifact, upload.sha256) is not None:
        return None
    return check(upload.path, limits.probe_budget_seconds, UNPACKED_FACTOR * limits.max_bytes)


def store(upload: Received, limits: Limits, checked: CheckedModel | None = None) -> Artifact:
    """The artifact for these bytes: the stored one, or a new one (checked now unless `checked` is
    given) written in the caller's transaction, not committed."""
    # Two uploads of the same new file at once (to two versions) would both insert it: one waits here.
    db.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(upload.sha256, 0))))
    artifact = db.session.get(Artifact, upload.sha256)
    if artifact is not None:  # these bytes were checked when they first came
        return artifact
    if checked is None:
        checked = check(upload.path, limits.probe_budget_seconds, UNPACKED_FACTOR * limits.max_bytes)
    artifact = Artifact(
        sha256=upload.sha256,
        size_bytes=upload.size_bytes,
        format=FORMAT,
        chunks=0,
        labels=list(checked.labels),
        load_seconds=round(checked.load_seconds, 4),
        memory_bytes=checked.memory_bytes,
        probe_seconds=round(checked.probe_seconds, 6),
        created_at=utcnow(),
    )
    db.session.add(artifact)
    db.session.flush()
    with upload.path.open("rb") as source:
        artifact.chunks = PostgresArtifactStore().write(upload.sha256, source)
    return artifact


def _too_large(max_bytes: int, length: int | None) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the model file is larger than the limit of {max_bytes:,} bytes (ARTIFACT_MAX_BYTES)",
        {"limit_bytes": max_bytes, "content_length": length},
    )
