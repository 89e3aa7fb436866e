"""Bandit mode over HTTP: start, read and stop a model name's Thompson-sampling bandit."""

from __future__ import annotations

from flask import current_app

from ..contract import endpoint
from ..http import json_response, parse_json
from . import bp
from .bandit_schemas import BanditOut, BanditRequest
from .bandits import bandit_out, running_bandit, start_bandit, stop_bandit

TAG = "rollouts"


def _publish_routing() -> None:
    current_app.extensions["router"].publish_from_database()


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
