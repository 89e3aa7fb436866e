"""The artifact tables: one row per distinct file, keyed by its sha256, and its bytes in chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# A chunk is one row of at most this many bytes: no query ever holds more of a file than that.
CHUNK_BYTES = 1024 * 1024


class Artifact(db.Model):
    """A checked model file. Immutable: content-addressed, so a changed file is a different row."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(16))
    chunks: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list[Any]] = mapped_column(JSON)
    # Measured when the file was checked, on the host that took the upload.
    load_seconds: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    probe_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ArtifactChunk(db.Model):
    __tablename__ = "artifact_chunks"

    sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("artifacts.sha256", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
