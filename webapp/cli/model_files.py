"""`flask models train` and `register --artifact`: a trained model file into the registry from a shell.

The file goes through the same checks and storage as `PUT /models/<id>/artifact`, and it is checked
before the version is registered, so a refused file leaves no version behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import skops.io
from flask import current_app

from ..artifacts.archive import UNPACKED_FACTOR
from ..artifacts.checks import check
from ..artifacts.service import Limits, received
from ..artifacts.training import cross_set_accuracy, fit_text_pipeline
from ..inference import SKLEARN
from ..models import ModelVersion
from ..registry import service
from ..registry.artifact_service import attach_artifact
from ..registry.schemas import RegisterModel
from .common import publish_routing, validated
from .datasets import read_set, set_name


def limits() -> Limits:
    settings = current_app.extensions["settings"]
    return Limits(settings.artifact_max_bytes, settings.artifact_probe_budget_ms / 1000)


def register_with_file(fields: dict, path: Path, metrics: dict[str, float] | None = None) -> ModelVersion:
    """Check the file, then register the version, attach the file and record the metrics."""
    settings = current_app.extensions["settings"]
    request = validated(RegisterModel, {"algorithm": SKLEARN, **fields})
    with (
        path.open("rb") as source,
        received(source, path.stat().st_size, limits().max_bytes, settings.instance_dir / "uploads") as upload,
    ):
        # Refused here, nothing is registered.
        check(upload.path, limits().probe_budget_seconds, UNPACKED_FACTOR * limits().max_bytes)
        version = service.register_version(request, on_commit=publish_routing)
        version = attach_artifact(str(version.id), upload, limits(), current_app.extensions["artifact_cache"])
    if metrics:
        version = service.set_metrics(str(version.id), metrics)
    return version


def read_sets(paths: tuple[Path, ...]) -> dict[str, list[tuple[str, str]]]:
    """Labelled rows by set name, from TSV files in the shared data's format (id, mean rating, text)."""
    sets: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        try:
            rows = read_set(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--data") from None
        if not rows:
            raise click.BadParameter(f"{path} holds no rows", param_hint="--data")
        sets.setdefault(set_name(path), []).extend((row.text, row.label) for row in rows)
    return sets


def train_file(sets: dict[str, list[tuple[str, str]]], directory: Path) -> tuple[Path, dict[str, float]]:
    """Measure across sets, fit on every row, and save the pipeline with skops: (file, metrics)."""
    metrics = cross_set_accuracy(sets)
    pipeline = fit_text_pipeline([row for rows in sets.values() for row in rows])
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".skops", delete=False) as file:
        path = Path(file.name)
    skops.io.dump(pipeline, path)
    return path, metrics
