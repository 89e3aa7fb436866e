"""The `flask` commands for ops, one module per domain, all through the REST API's service functions."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Add every ops command group to `app.cli`."""
    from .bandits import bandit_cli
    from .experiment import experiment_cli
    from .logs import logs_cli
    from .models import models_cli
    from .replay import replay_command
    from .rollouts import rollout_cli
    from .split import split_cli
    from .stats import stats_cli

    for command in (
        models_cli,
        split_cli,
        experiment_cli,
        stats_cli,
        logs_cli,
        replay_command,
        rollout_cli,
        bandit_cli,
    ):
        app.cli.add_command(command)
