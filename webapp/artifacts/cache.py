"""Each host's copies of artifacts, by sha256, verified against their hash on every load."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..extensions import db
from ..inference.sklearn_family import SklearnPredictor
from ..metrics.instruments import ARTIFACT_CACHE
from .checks import load_trusted
from .models import CHUNK_BYTES, Artifact
from .store import PostgresArtifactStore

log = logging.getLogger(__name__)


class ArtifactUnavailable(RuntimeError):
    """An artifact could not be brought to this host intact."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactCache:
    """Local files under `directory`, named by their sha256; the store is where a missing one comes from.

    Web processes of one host share the directory: a file appears under its name only whole (written
    aside, then renamed), and a copy whose bytes no longer match its name is fetched again.
    """

    def __init__(self, directory: Path, store: PostgresArtifactStore | None = None) -> None:
        self.directory = directory
        self.store = store or PostgresArtifactStore()

    def path(self, sha256: str) -> Path:
        """A local file holding exactly the artifact `sha256` (needs an app context to fetch it)."""
        path = self.directory / f"{sha256}.skops"
        if path.exists():
            if file_sha256(path) == sha256:
                ARTIFACT_CACHE.labels("hit").inc()
                return path
            log.warning("cached artifact %s does not match its sha256: fetching it again", sha256)
            ARTIFACT_CACHE.labels("damaged").inc()
            path.unlink(missing_ok=True)
        self._fetch(sha256, path)
        ARTIFACT_CACHE.labels("fetched").inc()
        return path

    def keep(self, sha256: str, source: Path) -> None:
        """Cache a file already verified here (the upload's), so this host need not fetch it back."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=self.directory, suffix=".part", delete=False) as part,
            source.open("rb") as original,
        ):
            shutil.copyfileobj(original, part, CHUNK_BYTES)
        os.replace(part.name, self.directory / f"{sha256}.skops")

    def _fetch(self, sha256: str, path: Path) -> None:
        artifact = db.session.get(Artifact, sha256)
        if artifact is None:
            raise ArtifactUnavailable(f"no artifact with sha256 {sha256} is stored")
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".part", delete=False) as part:
            try:
                for chunk in self.store.chunks(sha256, artifact.chunks):
                    digest.update(chunk)
                    part.write(chunk)
            except BaseException:
                os.unlink(part.name)
                raise
        if digest.hexdigest() != sha256:
            os.unlink(part.name)
            raise ArtifactUnavailable(f"the stored bytes of artifact {sha256} do not match its sha256")
        os.replace(part.name, path)


def load_predictor(cache: ArtifactCache, sha256: str) -> SklearnPredictor:
    """The predictor for an artifact: its verified local file, loaded against the trust list."""
    return SklearnPredictor.from_estimator(load_trusted(cache.path(sha256)))
