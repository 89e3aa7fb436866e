"""The answer shapes of registry objects, shared by the REST views and the CLI."""

from __future__ import annotations

from ..experiments.models import OutcomeStats
from ..extensions import db
from ..models import ModelVersion
from .schemas import ArtifactOut, ModelVersionDetail, ModelVersionOut, OnlineMetrics, SplitOut, SplitVersionOut
from .split_service import SplitView


def version_out(version: ModelVersion) -> ModelVersionOut:
    """One registered version as the API answers it."""
    return ModelVersionOut(
        model_id=str(version.id),
        name=version.name,
        version=version.version,
        description=version.description,
        accuracy=version.accuracy,
        algorithm=version.algorithm,
        params=version.params or {},
        status=version.status,
        traffic_percent=version.traffic_percent,
        shadow_percent=version.shadow_percent,
        created_at=version.created_at,
        activated_at=version.activated_at,
        archived_at=version.archived_at,
        artifact=ArtifactOut.model_validate(version.artifact, from_attributes=True) if version.artifact else None,
        metrics=version.metrics or {},
    )


def version_detail(version: ModelVersion) -> ModelVersionDetail:
    """One version with its online accuracy from feedback, beside the offline metrics it came with."""
    outcomes = db.session.get(OutcomeStats, version.id)
    labelled = outcomes.labelled_count if outcomes else 0
    accuracy = round(outcomes.correct_count / labelled, 4) if outcomes and labelled else None
    return ModelVersionDetail(
        **version_out(version).model_dump(), online=OnlineMetrics(accuracy=accuracy, labelled=labelled)
    )


def split_out(split: SplitView) -> SplitOut:
    """A model name's split as the API answers it."""
    return SplitOut(
        name=split.name,
        config_version=split.config_version,
        total_percent=split.total_percent,
        versions=[
            SplitVersionOut(
                model_id=str(version.id), version=version.version, traffic_percent=version.traffic_percent, slots=slots
            )
            for version, slots in split.versions
        ],
    )
