"""A version's model file: attached once, checked before any lock is taken, audited."""

from __future__ import annotations

from ..artifacts.cache import ArtifactCache
from ..artifacts.service import Limits, Received, checked_unless_stored
from ..artifacts.service import store as store_artifact
from ..audit.trail import record
from ..errors import Conflict
from ..extensions import db
from ..inference import SKLEARN
from ..models import ModelVersion
from .service import get_version, locked_version


def attach_artifact(model_id: str, upload: Received, limits: Limits, cache: ArtifactCache) -> ModelVersion:
    """Give a sklearn version its model file. The same bytes again change nothing; other bytes for a
    version that has one are 409, as artifacts never change (a new model is a new version).

    The file is checked (seconds) before the version's row is locked, then everything is decided
    again under the lock: two uploads at once end as one attached and one refused, or both the same.
    """
    if _refused_or_same(get_version(model_id), upload):
        db.session.rollback()
        return get_version(model_id)
    checked = checked_unless_stored(upload, limits)
    db.session.rollback()  # end the read transaction before waiting for the lock
    version = locked_version(model_id)
    if _refused_or_same(version, upload):
        db.session.rollback()
        return version
    store_artifact(upload, limits, checked)
    version.artifact_sha256 = upload.sha256
    record("artifact", version.name, version.id, None, {"sha256": upload.sha256, "size_bytes": upload.size_bytes})
    db.session.commit()
    db.session.refresh(version)
    cache.keep(upload.sha256, upload.path)  # this host need not fetch back what it just checked
    return version


def _refused_or_same(version: ModelVersion, upload: Received) -> bool:
    """True when the version already has these bytes; a Conflict when it cannot take them."""
    if version.artifact_sha256 == upload.sha256:
        return True
    if version.algorithm != SKLEARN:
        raise Conflict(
            f"model {version.name!r} version {version.version!r} uses {version.algorithm}, which takes no model "
            f"file; register a version with algorithm {SKLEARN!r} for a trained model"
        )
    if version.status == "archived":
        raise Conflict(f"model {version.name!r} version {version.version!r} is archived")
    if version.artifact_sha256 is not None:
        raise Conflict(
            f"model {version.name!r} version {version.version!r} already has a model file, and it never changes: "
            "register a new version for a new model",
            {"sha256": version.artifact_sha256, "uploaded_sha256": upload.sha256},
        )
    return False
