"""`flask bandit start|stop|status`: Thompson-sampling bandits, through the REST API's service."""

from __future__ import annotations

import click

from ..rollouts.bandits import bandit_out, running_bandit, start_bandit, stop_bandit
from ..rollouts.schemas import BanditOut, BanditRequest
from .common import OpsGroup, emit, ops_command, publish_routing, validated

bandit_cli = OpsGroup("bandit", help="Thompson-sampling bandits over a model's versions.")


def _line(out: BanditOut) -> str:
    weights = ", ".join(f"{version} {percent:g}%" for version, percent in out.weights.items())
    return f"bandit {out.id} of {out.model_name}: {out.state}, {out.updates} updates; {weights}; {out.reason or ''}"


def _show(out: BanditOut, as_json: bool) -> None:
    emit(out, as_json, lambda: [_line(out)])


@bandit_cli.command("start")
@click.argument("name")
@click.option("--versions", required=True, help="The arms, comma separated.")
@click.option("--metric", type=click.Choice(["accuracy", "reward"]), default="accuracy", show_default=True)
@click.option("--update-seconds", type=float, default=60.0, show_default=True)
@click.option("--min-per-arm", type=int, default=100, show_default=True)
@click.option("--floor-percent", type=float, default=1.0, show_default=True)
@ops_command
def start_command(name, versions, metric, update_seconds, min_per_arm, floor_percent, as_json: bool) -> None:
    """Start a bandit over NAME's --versions at equal weights."""
    fields = {"versions": versions.split(","), "metric": metric, "update_seconds": update_seconds,
              "min_per_arm": min_per_arm, "floor_percent": floor_percent}  # fmt: skip
    request = validated(BanditRequest, fields)
    _show(bandit_out(start_bandit(name, request, on_commit=publish_routing)), as_json)


@bandit_cli.command("stop")
@click.argument("name")
@ops_command
def stop_command(name: str, as_json: bool) -> None:
    """Stop NAME's bandit; the last weights stay."""
    _show(bandit_out(stop_bandit(name)), as_json)


@bandit_cli.command("status")
@click.argument("name")
@ops_command
def status_command(name: str, as_json: bool) -> None:
    """Show NAME's running bandit and its last weights."""
    _show(bandit_out(running_bandit(name)), as_json)
