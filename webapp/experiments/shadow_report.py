"""Reads the materialized shadow comparisons into the API's shape. Never reads the logs."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import ModelVersion, StatsCursor
from ..statistics.paired import PairedCounts, PairedResult, compare_paired
from .models import ShadowComparison
from .schemas import ShadowComparisonOut, ShadowReport


def shadow_comparisons(model_name: str) -> list[ShadowComparisonOut]:
    """Every shadow of `model_name` against every version whose answers it mirrored."""
    shadow_ids = select(ModelVersion.id).where(ModelVersion.name == model_name)
    return _comparisons(ShadowComparison.shadow_model_id.in_(shadow_ids))


def shadow_report(model_id: str) -> ShadowReport:
    """One version's comparisons as a shadow; 404 for an unknown version."""
    version = db.session.get(ModelVersion, uuid.UUID(model_id))
    if version is None:
        raise NotFound(f"model {model_id} not found")
    cursor = db.session.get(StatsCursor, 1)
    return ShadowReport(
        model_id=str(version.id),
        model_name=version.name,
        model_version=version.version,
        shadow_percent=version.shadow_percent,
        comparisons=_comparisons(ShadowComparison.shadow_model_id == version.id),
        refreshed_at=cursor.refreshed_at if cursor else None,
    )


def _comparisons(which) -> list[ShadowComparisonOut]:
    rows = list(db.session.scalars(select(ShadowComparison).where(which, ShadowComparison.pairs > 0)))
    ids = {row.shadow_model_id for row in rows} | {row.served_model_id for row in rows}
    versions = {v.id: v.version for v in db.session.scalars(select(ModelVersion).where(ModelVersion.id.in_(ids)))}
    shaped = [_out(row, versions) for row in rows]
    return sorted(shaped, key=lambda c: (c.shadow_version, c.served_version))


def _out(row: ShadowComparison, versions: dict[uuid.UUID, str]) -> ShadowComparisonOut:
    counts = PairedCounts(
        row.pairs, row.agreements, row.labelled_pairs, row.shadow_correct, row.served_correct,
        row.shadow_only_correct, row.served_only_correct,
    )  # fmt: skip
    result = compare_paired(counts)
    shadow_version = versions.get(row.shadow_model_id, str(row.shadow_model_id))
    served_version = versions.get(row.served_model_id, str(row.served_model_id))
    return ShadowComparisonOut(
        shadow_version=shadow_version,
        shadow_model_id=str(row.shadow_model_id),
        served_version=served_version,
        served_model_id=str(row.served_model_id),
        **asdict(counts),
        **{name: value for name, value in asdict(result).items() if name != "agreement_ci"},
        agreement_ci=result.agreement_ci.as_list() if result.agreement_ci else None,
        summary=_summary(shadow_version, served_version, counts, result),
    )


def _summary(shadow: str, served: str, counts: PairedCounts, result: PairedResult) -> str:
    sentence = f"{shadow} agreed with {served} on {result.agreement_rate:.1%} of {counts.pairs:,} mirrored requests"
    if not counts.labelled_pairs:
        return f"{sentence}; no feedback on them yet."
    p_value = "no discordant pairs" if result.mcnemar_p_value is None else f"McNemar p = {result.mcnemar_p_value:.3g}"
    return (
        f"{sentence}; on the {counts.labelled_pairs:,} with feedback, accuracy {result.shadow_accuracy:.3f} "
        f"for {shadow} against {result.served_accuracy:.3f} for {served} ({p_value})."
    )
