"""Where artifact bytes live: the one seam between the service and its file storage.

Postgres holds them here, as `CHUNK_BYTES` rows of `artifact_chunks`, so every web host and worker
reads them from the database they already share. A deployment that wants object storage instead
replaces this class with one of the same two methods over a bucket keyed by sha256
(docs/models.md, "Storage"); nothing else names the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy import insert, select

from ..extensions import db
from .models import CHUNK_BYTES, ArtifactChunk


class PostgresArtifactStore:
    name = "postgres"

    def write(self, sha256: str, source: BinaryIO) -> int:
        """Copy `source` into chunks of `sha256` within the caller's transaction; the number of chunks.

        One chunk is in memory at a time. The caller has already inserted the `artifacts` row.
        """
        seq = 0
        while chunk := source.read(CHUNK_BYTES):
            db.session.execute(insert(ArtifactChunk).values(sha256=sha256, seq=seq, data=chunk))
            seq += 1
        return seq

    def chunks(self, sha256: str, count: int) -> Iterator[bytes]:
        """The file's bytes, one chunk per query, in order."""
        for seq in range(count):
            data = db.session.scalar(
                select(ArtifactChunk.data).where(ArtifactChunk.sha256 == sha256, ArtifactChunk.seq == seq)
            )
            if data is None:
                raise LookupError(f"artifact {sha256} is missing chunk {seq} of {count}")
            yield bytes(data)
