"""`flask stats ...`: run the statistics jobs by hand."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .stats.refresh import rebuild_stats, refresh_stats

stats_cli = AppGroup("stats", help="Materialized per-version statistics.")


@stats_cli.command("refresh")
def refresh_command() -> None:
    """Fold the prediction logs committed since the last refresh into model_stats."""
    click.echo(json.dumps(refresh_stats().as_dict()))


@stats_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute model_stats from every prediction log (reads the whole log)."""
    click.echo(json.dumps(rebuild_stats().as_dict()))
