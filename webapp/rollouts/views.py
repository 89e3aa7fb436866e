"""Rollouts over HTTP: start and list per model name, read, pause, resume, promote and abort by id; and bandits."""

from __future__ import annotations

from flask import current_app
from pydantic import TypeAdapter

from ..contract import endpoint
from ..http import json_response, parse_json
from . import bp
from .bandits import bandit_out, running_bandit, start_bandit, stop_bandit
from .present import rollout_out
from .schemas import BanditOut, BanditRequest, RolloutOut, RolloutRequest
from .service import (
    abort_rollout,
    get_rollout,
    list_rollouts,
    pause_rollout,
    promote_rollout,
    resume_rollout,
    start_rollout,
)

TAG = "rollouts"
_LIST = TypeAdapter(list[RolloutOut])


def _publish_routing() -> None:
    current_app.extensions["router"].publish_from_database()


@bp.post("/models/<name>/rollouts")
@endpoint(
    "admin",
    "Start a canary rollout of a candidate version against a baseline",
    tag=TAG,
    body=RolloutRequest,
    responses={201: RolloutOut},
    errors=(404, 409),
    description=(
        "Puts the first step in place at once; the beat task `rollouts.evaluate` advances, rolls back or completes "
        "it. 422 for an unknown candidate or baseline, candidate == baseline, steps not increasing or outside "
        "(0, 100], negative numbers; 409 if the name already has an active rollout, or an archived version."
    ),
)
def start(name: str):
    rollout = start_rollout(name, parse_json(RolloutRequest), on_commit=_publish_routing)
    return json_response(rollout_out(rollout), status=201)


@bp.get("/models/<name>/rollouts")
@endpoint("read", "A model name's rollouts, newest first", tag=TAG, responses={200: list[RolloutOut]}, errors=(404,))
def list_for_model(name: str):
    return json_response([rollout_out(rollout) for rollout in list_rollouts(name)], adapter=_LIST)


@bp.get("/rollouts/<int:rollout_id>")
@endpoint(
    "read",
    "A rollout: state, step, each guardrail against its limit, and its history",
    tag=TAG,
    responses={200: RolloutOut},
    errors=(404,),
)
def read(rollout_id: int):
    return json_response(rollout_out(get_rollout(rollout_id)))


@bp.post("/rollouts/<int:rollout_id>/pause")
@endpoint("admin", "Pause a running rollout; its split stays", tag=TAG, responses={200: RolloutOut}, errors=(404, 409))
def pause(rollout_id: int):
    return json_response(rollout_out(pause_rollout(rollout_id)))


@bp.post("/rollouts/<int:rollout_id>/resume")
@endpoint(
    "admin",
    "Resume a paused rollout: its step's split is put back, its clock restarts",
    tag=TAG,
    responses={200: RolloutOut},
    errors=(404, 409),
)
def resume(rollout_id: int):
    return json_response(rollout_out(resume_rollout(rollout_id, on_commit=_publish_routing)))


@bp.post("/rollouts/<int:rollout_id>/promote")
@endpoint(
    "admin",
    "Approve the manual gate a rollout waits at: it moves to the gated step",
    tag=TAG,
    responses={200: RolloutOut},
    errors=(404, 409),
    description="409 when the rollout is not waiting for approval (waiting_for is null).",
)
def promote(rollout_id: int):
    return json_response(rollout_out(promote_rollout(rollout_id, on_commit=_publish_routing)))


@bp.post("/rollouts/<int:rollout_id>/abort")
@endpoint(
    "admin",
    "Abort an active rollout: all of its traffic goes back to the baseline",
    tag=TAG,
    responses={200: RolloutOut},
    errors=(404, 409),
)
def abort(rollout_id: int):
    return json_response(rollout_out(abort_rollout(rollout_id, on_commit=_publish_routing)))


@bp.post("/models/<name>/bandit")
@endpoint(
    "admin",
    "Start a Thompson-sampling bandit over some versions of a model",
    tag=TAG,
    body=BanditRequest,
    responses={201: BanditOut},
    errors=(404, 409),
    description=(
        "The arms start at equal weights and share all of the name's traffic. The beat task `rollouts.evaluate` "
        "moves them to P(best) every update_seconds once every arm has min_per_arm outcomes. 422 for unknown or "
        "repeated versions or a floor the arms cannot all have; 409 with an active rollout or a running bandit."
    ),
)
def start_bandit_view(name: str):
    bandit = start_bandit(name, parse_json(BanditRequest), on_commit=_publish_routing)
    return json_response(bandit_out(bandit), status=201)


@bp.get("/models/<name>/bandit")
@endpoint("read", "A model's running bandit and its last weights", tag=TAG, responses={200: BanditOut}, errors=(404,))
def read_bandit(name: str):
    return json_response(bandit_out(running_bandit(name)))


@bp.delete("/models/<name>/bandit")
@endpoint("admin", "Stop a model's bandit; the last weights stay", tag=TAG, responses={200: BanditOut}, errors=(404,))
def stop_bandit_view(name: str):
    return json_response(bandit_out(stop_bandit(name)))
