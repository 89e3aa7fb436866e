"""`flask split show|set NAME [VERSION=WEIGHT ...]`: a model name's whole split."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import click

from ..registry.schemas import SplitOut, SplitRequest
from ..registry.shapes import split_out
from ..registry.split_service import read_split, set_split
from .common import DECIMAL, OpsGroup, emit, ops_command, publish_routing, validated

split_cli = OpsGroup("split", help="A model name's traffic split.")


def _lines(split: SplitOut) -> Iterator[str]:
    yield f"{split.name}: config version {split.config_version}, {split.total_percent}% routed"
    for version in split.versions:
        yield f"  {version.version:<10} {version.traffic_percent:>6}%  {version.slots:>5} slots  {version.model_id}"


def _weights(pairs: tuple[str, ...]) -> dict[str, Decimal]:
    weights: dict[str, Decimal] = {}
    for pair in pairs:
        version, sep, weight = pair.partition("=")
        if not sep or not version:
            raise click.BadParameter(f"{pair!r} is not VERSION=WEIGHT", param_hint="WEIGHTS")
        if version in weights:
            raise click.BadParameter(f"version {version} is named twice", param_hint="WEIGHTS")
        weights[version] = DECIMAL.convert(weight, None, None)
    return weights


@split_cli.command("show")
@click.argument("name")
@ops_command
def show_command(name: str, as_json: bool) -> None:
    """The active versions of NAME with their percents and slots."""
    split = split_out(read_split(name))
    emit(split, as_json, lambda: _lines(split))


@split_cli.command("set")
@click.argument("name")
@click.argument("weights", nargs=-1, required=True, metavar="VERSION=WEIGHT...")
@click.option("--if-match", default=None, help="Fail (exit 1) unless the config version is still this one.")
@ops_command
def set_command(name: str, weights: tuple[str, ...], if_match: str | None, as_json: bool) -> None:
    """Make the named weights the whole split: e.g. `flask split set sentiment 1.0.0=90 2.0.0=10`."""
    request = validated(SplitRequest, {"weights": _weights(weights)})
    expected = None if if_match is None else {if_match.strip('"')}
    split = split_out(set_split(name, request.weights, expected, on_commit=publish_routing))
    emit(split, as_json, lambda: _lines(split))
