"""`flask rollout start|status|pause|resume|promote|abort|evaluate`: canary rollouts, through the REST API's service."""

from __future__ import annotations

from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import AppGroup

from ..rollouts.evaluate import Outcome, evaluate_all
from ..rollouts.guardrails import DEFAULT_LATENCY_RATIO, DEFAULT_MIN_LATENCY_INCREASE_MS
from ..rollouts.present import rollout_out
from ..rollouts.schemas import RolloutOut, RolloutRequest
from ..rollouts.service import (
    abort_rollout,
    get_rollout,
    list_rollouts,
    pause_rollout,
    promote_rollout,
    resume_rollout,
    start_rollout,
)
from .common import emit, ops_command, publish_routing, validated

rollout_cli = AppGroup("rollout", help="Canary rollouts of a model's versions.")


def _line(out: RolloutOut) -> str:
    step = f"step {out.step_index + 1}/{len(out.steps)} ({out.current_percent:g}% to {out.candidate})"
    if out.waiting_for:
        step += f", waiting for {out.waiting_for}"
    return f"rollout {out.id} of {out.model_name}: {out.state}, {step}; {out.reason or ''}".rstrip("; ")


def _show(out: RolloutOut, as_json: bool) -> None:
    emit(out, as_json, lambda: [_line(out)])


def _percents(steps: str) -> list[float | dict]:
    """'25,60:manual,100' -> [25.0, {"percent": 60.0, "gate": "manual"}, 100.0]."""
    try:
        return [_step(step) for step in steps.split(",")]
    except ValueError:
        message = f"{steps!r} is not comma-separated numbers (a step that waits for approval: 60:manual)"
        raise click.BadParameter(message, param_hint="--steps") from None


def _step(text: str) -> float | dict:
    percent, _, gate = text.partition(":")
    if not gate:
        return float(percent)
    if gate.strip() != "manual":
        raise ValueError(gate)
    return {"percent": float(percent), "gate": "manual"}


def _outcome_lines(outcomes: list[Outcome]) -> Iterator[str]:
    for outcome in outcomes:
        yield f"rollout {outcome.rollout_id}: {outcome.action}: {outcome.reason}"


@rollout_cli.command("start")
@click.argument("name")
@click.option("--candidate", required=True, help="The version to roll out.")
@click.option("--baseline", default=None, help="Default: the active version with the most traffic.")
@click.option("--steps", default="1,5,25,50,100", show_default=True,
              help="Candidate percents, comma separated; 60:manual waits for `rollout promote` first.")  # fmt: skip
@click.option("--step-seconds", type=float, default=300.0, show_default=True)
@click.option("--min-requests-per-step", type=int, default=200, show_default=True)
@click.option("--max-accuracy-drop", type=float, default=0.02, show_default=True)
@click.option("--max-p95-latency-ratio", type=float, default=DEFAULT_LATENCY_RATIO, show_default=True)
@click.option("--min-latency-increase-ms", type=float, default=DEFAULT_MIN_LATENCY_INCREASE_MS, show_default=True,
              help="The ratio counts only when the p95 is also this many ms over the baseline's.")  # fmt: skip
@click.option("--max-p95-latency-ms", type=float, default=None, help="An absolute p95 budget in ms.")
@click.option("--max-error-rate", type=float, default=None)
@click.option("--min-mean-reward", type=float, default=None)
@ops_command
def start_command(name, candidate, baseline, steps, step_seconds, min_requests_per_step, max_accuracy_drop,
                  max_p95_latency_ratio, min_latency_increase_ms, max_p95_latency_ms, max_error_rate,
                  min_mean_reward, as_json: bool) -> None:  # fmt: skip
    """Start a rollout of NAME's --candidate; its first step takes effect at once."""
    guardrails = {"max_accuracy_drop": max_accuracy_drop, "max_p95_latency_ratio": max_p95_latency_ratio,
                  "min_latency_increase_ms": min_latency_increase_ms, "max_p95_latency_ms": max_p95_latency_ms,
                  "max_error_rate": max_error_rate, "min_mean_reward": min_mean_reward}  # fmt: skip
    fields = {"candidate": candidate, "baseline": baseline, "steps": _percents(steps), "step_seconds": step_seconds,
              "min_requests_per_step": min_requests_per_step, "guardrails": guardrails}  # fmt: skip
    request = validated(RolloutRequest, fields)
    _show(rollout_out(start_rollout(name, request, on_commit=publish_routing)), as_json)


@rollout_cli.command("status")
@click.argument("rollout_id", type=int, required=False)
@click.option("--model", "name", default=None, help="Every rollout of this model name instead.")
@ops_command
def status_command(rollout_id: int | None, name: str | None, as_json: bool) -> None:
    """Show a rollout (by id), or every rollout of --model."""
    if (rollout_id is None) == (name is None):
        raise click.UsageError("give a rollout id or --model, not both")
    if rollout_id is not None:
        _show(rollout_out(get_rollout(rollout_id)), as_json)
        return
    rollouts = [rollout_out(rollout) for rollout in list_rollouts(name)]
    emit(rollouts, as_json, lambda: [_line(out) for out in rollouts])


@rollout_cli.command("pause")
@click.argument("rollout_id", type=int)
@ops_command
def pause_command(rollout_id: int, as_json: bool) -> None:
    """Pause a running rollout; its split stays."""
    _show(rollout_out(pause_rollout(rollout_id)), as_json)


@rollout_cli.command("resume")
@click.argument("rollout_id", type=int)
@ops_command
def resume_command(rollout_id: int, as_json: bool) -> None:
    """Resume a paused rollout: its step's split is put back and its clock restarts."""
    _show(rollout_out(resume_rollout(rollout_id, on_commit=publish_routing)), as_json)


@rollout_cli.command("promote")
@click.argument("rollout_id", type=int)
@ops_command
def promote_command(rollout_id: int, as_json: bool) -> None:
    """Approve the manual gate a rollout waits at: it moves to the gated step."""
    _show(rollout_out(promote_rollout(rollout_id, on_commit=publish_routing)), as_json)


@rollout_cli.command("abort")
@click.argument("rollout_id", type=int)
@ops_command
def abort_command(rollout_id: int, as_json: bool) -> None:
    """Abort an active rollout: the baseline gets all of its traffic back."""
    _show(rollout_out(abort_rollout(rollout_id, on_commit=publish_routing)), as_json)


@rollout_cli.command("evaluate")
@ops_command
def evaluate_command(as_json: bool) -> None:
    """Run one evaluation pass now, as the beat task does (refresh the stats, then judge)."""
    target_n = current_app.extensions["settings"].sequential_target_n
    outcomes = evaluate_all(target_n, on_commit=publish_routing)
    emit(outcomes, as_json, lambda: _outcome_lines(outcomes))
