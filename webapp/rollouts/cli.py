"""`flask rollout start|status|pause|resume|abort|evaluate`: the rollout service from a shell.

Exit codes: 0 done, 1 a domain error (unknown model, a second active rollout, a finished rollout...)
with its message on stderr, 2 a usage error (click's own, and values the request schema refuses).
Changes are audited with the actor `cli:<os user>`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from pydantic import TypeAdapter, ValidationError

from ..errors import ApiError, validation_details
from .evaluate import evaluate_all
from .models import Rollout
from .present import rollout_out
from .schemas import RolloutOut, RolloutRequest
from .service import abort_rollout, get_rollout, list_rollouts, pause_rollout, resume_rollout, start_rollout

rollout_cli = AppGroup("rollout", help="Canary rollouts of a model's versions.")
_LIST = TypeAdapter(list[RolloutOut])
json_option = click.option("--json", "as_json", is_flag=True, help="Print the rollout as JSON.")


class DomainError(click.ClickException):
    exit_code = 1


def _publish() -> None:
    current_app.extensions["router"].publish_from_database()


def run_domain(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except ApiError as exc:
        raise DomainError(str(exc)) from None


def _show(rollout: Rollout, as_json: bool) -> None:
    out = rollout_out(rollout)
    click.echo(out.model_dump_json(indent=2) if as_json else _line(out))


def _line(out: RolloutOut) -> str:
    step = f"step {out.step_index + 1}/{len(out.steps)} ({out.current_percent:g}% to {out.candidate})"
    return f"rollout {out.id} of {out.model_name}: {out.state}, {step}; {out.reason or ''}".rstrip("; ")


@rollout_cli.command("start")
@click.argument("name")
@click.option("--candidate", required=True, help="The version to roll out.")
@click.option("--baseline", default=None, help="Default: the active version with the most traffic.")
@click.option("--steps", default="1,5,25,50,100", show_default=True, help="Candidate percents, comma separated.")
@click.option("--step-seconds", type=float, default=300.0, show_default=True)
@click.option("--min-requests-per-step", type=int, default=200, show_default=True)
@click.option("--max-accuracy-drop", type=float, default=0.02, show_default=True)
@click.option("--max-p95-latency-ratio", type=float, default=1.5, show_default=True)
@click.option("--max-error-rate", type=float, default=None)
@click.option("--min-mean-reward", type=float, default=None)
@json_option
def start_command(name, candidate, baseline, steps, step_seconds, min_requests_per_step, max_accuracy_drop,
                  max_p95_latency_ratio, max_error_rate, min_mean_reward, as_json) -> None:  # fmt: skip
    """Start a rollout of NAME's --candidate; its first step takes effect at once."""
    try:
        percents = [float(step) for step in steps.split(",")]
        guardrails = {"max_accuracy_drop": max_accuracy_drop, "max_p95_latency_ratio": max_p95_latency_ratio,
                      "max_error_rate": max_error_rate, "min_mean_reward": min_mean_reward}  # fmt: skip
        request = RolloutRequest.model_validate(
            {
                "candidate": candidate,
                "baseline": baseline,
                "steps": percents,
                "step_seconds": step_seconds,
                "min_requests_per_step": min_requests_per_step,
                "guardrails": guardrails,
            }
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError, as is float("x")
        details = validation_details(exc) if isinstance(exc, ValidationError) else str(exc)
        raise click.UsageError(f"invalid rollout: {details}") from None
    _show(run_domain(lambda: start_rollout(name, request, on_commit=_publish)), as_json)


@rollout_cli.command("status")
@click.argument("rollout_id", type=int, required=False)
@click.option("--model", "name", default=None, help="Every rollout of this model name instead.")
@json_option
def status_command(rollout_id, name, as_json) -> None:
    """Show a rollout (by id), or every rollout of --model."""
    if (rollout_id is None) == (name is None):
        raise click.UsageError("give a rollout id or --model, not both")
    if rollout_id is not None:
        _show(run_domain(lambda: get_rollout(rollout_id)), as_json)
        return
    rollouts = run_domain(lambda: list_rollouts(name))
    if as_json:
        click.echo(_LIST.dump_json([rollout_out(rollout) for rollout in rollouts], indent=2))
        return
    for rollout in rollouts:
        _show(rollout, False)


@rollout_cli.command("pause")
@click.argument("rollout_id", type=int)
@json_option
def pause_command(rollout_id, as_json) -> None:
    """Pause a running rollout; its split stays."""
    _show(run_domain(lambda: pause_rollout(rollout_id)), as_json)


@rollout_cli.command("resume")
@click.argument("rollout_id", type=int)
@json_option
def resume_command(rollout_id, as_json) -> None:
    """Resume a paused rollout: its step's split is put back and its clock restarts."""
    _show(run_domain(lambda: resume_rollout(rollout_id, on_commit=_publish)), as_json)


@rollout_cli.command("abort")
@click.argument("rollout_id", type=int)
@json_option
def abort_command(rollout_id, as_json) -> None:
    """Abort an active rollout: the baseline gets all of its traffic back."""
    _show(run_domain(lambda: abort_rollout(rollout_id, on_commit=_publish)), as_json)


@rollout_cli.command("evaluate")
def evaluate_command() -> None:
    """Run one evaluation pass now, as the beat task does (refresh the stats, then judge)."""
    target_n = current_app.extensions["settings"].sequential_target_n
    for outcome in evaluate_all(target_n, on_commit=_publish):
        click.echo(f"rollout {outcome.rollout_id}: {outcome.action}: {outcome.reason}")
