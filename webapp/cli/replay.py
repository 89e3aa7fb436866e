"""`flask replay ...`: replay human-rated traffic against a running service."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("replay")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The running service.")
@click.option("--model", default="sentiment", show_default=True, help="Model name to send the texts to.")
@click.option("--rate", default=300.0, show_default=True, type=click.FloatRange(min=1), help="Requests per second.")
@click.option("--users", default=2000, show_default=True, type=click.IntRange(min=1), help="Distinct user ids.")
@click.option("--feedback/--no-feedback", default=False, help="Post each answer's human label to /feedback.")
@click.option("--setup", is_flag=True, help="Register 1.0.0 and 2.0.0 of --model if needed and split them 50/50.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1, max=64))
@click.option("--seed", default=0, show_default=True, help="Seed of the user ids.")
@click.option("--api-key", envvar="REPLAY_API_KEY", default=None, help="Sent as X-API-Key (an admin key covers all).")
@click.option(
    "--wait", "wait_seconds", default=120.0, show_default=True, help="Longest wait for the stats to catch up."
)
def replay_command(paths, url, model, rate, users, feedback, setup, threads, seed, api_key, wait_seconds) -> None:
    """Replay human-rated TSV files (default: every set in the data directory) against a running service."""
    from .datasets import find_data_dir, read_set
    from .replay_traffic import Client, ReplayError, ReplayPlan, replay, setup_fifty_fifty, summary

    files = [Path(path) for path in paths] or sorted(find_data_dir().glob("*_GroundTruth.tsv"))
    texts = [text for path in files for text in read_set(path)]
    plan = ReplayPlan(url, model, rate, users, feedback, threads, seed, api_key, wait_seconds)
    try:
        if setup:
            setup_fifty_fifty(Client(url, api_key), model)
        with click.progressbar(length=len(texts), label=f"replaying {len(texts)} texts") as bar:
            result = replay(texts, plan, progress=bar.update)
    except (ReplayError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in summary(result):
        click.echo(line)
