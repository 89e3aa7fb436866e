"""`flask models ...`: the registry from the command line, through the same service as the REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app

from ..registry import service
from ..registry.schemas import Activate, ModelVersionOut, RegisterModel
from ..registry.shapes import version_out
from ..schemas import Status
from .common import DECIMAL, OpsGroup, emit, ops_command, publish_routing, validated
from .model_files import read_sets, register_with_file, train_file

models_cli = OpsGroup("models", help="Registered model versions.")

VERSION_REF = click.argument("ref", nargs=-1, required=True, metavar="MODEL_ID | NAME VERSION")


def _model_id(ref: tuple[str, ...]) -> str:
    """A version's id from a model id, or from its name and version."""
    if len(ref) == 1:
        return ref[0]
    if len(ref) == 2:
        return str(service.find_version(*ref).id)
    raise click.UsageError("name a version by its model id, or by its name and version")


def _rows(versions: list[ModelVersionOut]) -> Iterator[str]:
    yield f"{'name':<20} {'version':<10} {'status':<9} {'traffic':>8} {'shadow':>7}  model_id"
    for v in versions:
        yield (
            f"{v.name:<20} {v.version:<10} {v.status:<9} {v.traffic_percent:>7}% {v.shadow_percent:>6}%  {v.model_id}"
        )


def _show(version: ModelVersionOut, as_json: bool) -> None:
    emit(version, as_json, lambda: (f"{key}: {value}" for key, value in version.model_dump(mode="json").items()))


@models_cli.command("list")
@click.option("--name", default=None, help="Only this model name.")
@click.option("--status", type=click.Choice(["inactive", "active", "archived"]), default=None)
@ops_command
def list_command(name: str | None, status: Status | None, as_json: bool) -> None:
    """List versions, oldest first (archived ones only with --status archived)."""
    versions = [version_out(v) for v in service.list_versions(name, status)[0]]
    emit(versions, as_json, lambda: _rows(versions))


@models_cli.command("show")
@VERSION_REF
@ops_command
def show_command(ref: tuple[str, ...], as_json: bool) -> None:
    """One version, by model id or by name and version."""
    _show(version_out(service.get_version(_model_id(ref))), as_json)


@models_cli.command("register")
@click.argument("name")
@click.argument("version")
@click.option("--description", default=None)
@click.option("--accuracy", type=float, default=None, help="Offline accuracy, 0 to 1.")
@click.option("--algorithm", default=None, help="Model family (default from the major version).")
@click.option("--params", default=None, help="Family parameters as JSON, e.g. '{\"neutral_band\": 0.1}'.")
@click.option(
    "--artifact",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A model file saved with skops.io.dump: registers a sklearn version with it (checked first).",
)
@ops_command
def register_command(name, version, description, accuracy, algorithm, params, artifact, as_json: bool) -> None:
    """Register an inactive version (with --artifact, a sklearn version and its model file)."""
    try:
        parsed_params = json.loads(params) if params is not None else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc.msg})", param_hint="--params") from None
    fields = {"name": name, "version": version, "description": description, "accuracy": accuracy}
    fields |= {"algorithm": algorithm, "params": parsed_params}
    fields = {key: value for key, value in fields.items() if value is not None}
    if artifact is not None:
        _show(version_out(register_with_file(fields, artifact)), as_json)
        return
    request = validated(RegisterModel, fields)
    _show(version_out(service.register_version(request, on_commit=publish_routing)), as_json)


@models_cli.command("train")
@click.argument("name")
@click.argument("version")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="A labelled TSV (id, mean rating, text); give two to measure each on a model trained on the other.",
)
@click.option("--description", default=None)
@ops_command
def train_command(name: str, version: str, data: tuple[Path, ...], description: str | None, as_json: bool) -> None:
    """Fit a TF-IDF + logistic regression pipeline, save it with skops, and register it with its metrics."""
    sets = read_sets(data)
    if not as_json:
        click.echo(f"training on {', '.join(f'{set_}: {len(rows)} rows' for set_, rows in sets.items())} ...")
    instance_dir = current_app.extensions["settings"].instance_dir
    path, metrics = train_file(sets, instance_dir / "uploads")
    try:
        fields = {"name": name, "version": version}
        fields["description"] = description or f"TF-IDF + logistic regression trained on {', '.join(sets)}"
        registered = register_with_file(fields, path, metrics)
    finally:
        path.unlink(missing_ok=True)
    if not as_json:
        for key, value in metrics.items():
            click.echo(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
    _show(version_out(registered), as_json)


@models_cli.command("activate")
@VERSION_REF
@click.option("--percent", type=DECIMAL, required=True, help="Share of the traffic, 0 to 100.")
@ops_command
def activate_command(ref: tuple[str, ...], percent: Decimal, as_json: bool) -> None:
    """Activate a version with a share of its model's traffic."""
    body = validated(Activate, {"percent": percent})
    _show(version_out(service.activate(_model_id(ref), body.value, on_commit=publish_routing)), as_json)


@models_cli.command("deactivate")
@VERSION_REF
@ops_command
def deactivate_command(ref: tuple[str, ...], as_json: bool) -> None:
    """Take a version out of routing (traffic 0)."""
    _show(version_out(service.deactivate(_model_id(ref), on_commit=publish_routing)), as_json)


@models_cli.command("delete")
@VERSION_REF
@ops_command
def delete_command(ref: tuple[str, ...], as_json: bool) -> None:
    """Archive an inactive version; its logs and statistics stay."""
    _show(version_out(service.archive(_model_id(ref), on_commit=publish_routing)), as_json)
