"""The `flask` commands for ops, one module per domain, all through the REST API's service functions."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Add every ops command group to `app.cli`."""
    from .bandits import bandit_cli
    from .common import ops_group
    from .experiment import experiment_cli
    from .logs import logs_cli
    from .models import models_cli
    from .replay import replay_command
    from .rollouts import rollout_cli
    from .split import split_cli
    from .stats import stats_cli

    for group in (models_cli, split_cli, experiment_cli, stats_cli, logs_cli, rollout_cli, bandit_cli):
        app.cli.add_command(ops_group(group))  # under --json, usage errors are JSON too (cli/common.py)
    app.cli.add_command(replay_command)
