"""`flask bandit start|stop|status`: bandit mode from a shell. Exit codes as `flask rollout` (0, 1, 2)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from pydantic import ValidationError

from ..errors import validation_details
from .bandit_schemas import BanditOut, BanditRequest
from .bandits import bandit_out, running_bandit, start_bandit, stop_bandit
from .cli import json_option, run_domain
from .models import Bandit

bandit_cli = AppGroup("bandit", help="Thompson-sampling bandits over a model's versions.")


def _show(bandit: Bandit, as_json: bool) -> None:
    out = bandit_out(bandit)
    click.echo(out.model_dump_json(indent=2) if as_json else _line(out))


def _line(out: BanditOut) -> str:
    weights = ", ".join(f"{version} {percent:g}%" for version, percent in out.weights.items())
    return f"bandit {out.id} of {out.model_name}: {out.state}, {out.updates} updates; {weights}; {out.reason or ''}"


@bandit_cli.command("start")
@click.argument("name")
@click.option("--versions", required=True, help="The arms, comma separated.")
@click.option("--metric", type=click.Choice(["accuracy", "reward"]), default="accuracy", show_default=True)
@click.option("--update-seconds", type=float, default=60.0, show_default=True)
@click.option("--min-per-arm", type=int, default=100, show_default=True)
@click.option("--floor-percent", type=float, default=1.0, show_default=True)
@json_option
def start_command(name, versions, metric, update_seconds, min_per_arm, floor_percent, as_json) -> None:
    """Start a bandit over NAME's --versions at equal weights."""
    try:
        request = BanditRequest.model_validate(
            {"versions": versions.split(","), "metric": metric, "update_seconds": update_seconds,
             "min_per_arm": min_per_arm, "floor_percent": floor_percent}
        )  # fmt: skip
    except ValidationError as exc:
        raise click.UsageError(f"invalid bandit: {validation_details(exc)}") from None
    publish = current_app.extensions["router"].publish_from_database
    _show(run_domain(lambda: start_bandit(name, request, on_commit=publish)), as_json)


@bandit_cli.command("stop")
@click.argument("name")
@json_option
def stop_command(name, as_json) -> None:
    """Stop NAME's bandit; the last weights stay."""
    _show(run_domain(lambda: stop_bandit(name)), as_json)


@bandit_cli.command("status")
@click.argument("name")
@json_option
def status_command(name, as_json) -> None:
    """Show NAME's running bandit and its last weights."""
    _show(run_domain(lambda: running_bandit(name)), as_json)
