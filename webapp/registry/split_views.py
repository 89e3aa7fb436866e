"""GET and PUT /models/<name>/split: a model name's whole split, with optimistic concurrency."""

from __future__ import annotations

from flask import Response, current_app, request

from ..contract import endpoint
from ..http import json_response, parse_json
from ..schemas import SplitOut, SplitRequest
from . import bp
from .shapes import split_out
from .split_service import SplitView, read_split, set_split

TAG = "registry"


def _answer(split: SplitView) -> Response:
    body = split_out(split)
    response = json_response(body)
    response.set_etag(str(split.config_version))
    return response


def _publish_routing() -> None:
    current_app.extensions["router"].publish_from_database()


@bp.get("/<name>/split")
@endpoint(
    "read",
    "A model's split: active versions, percents and slots",
    tag=TAG,
    responses={200: SplitOut},
    errors=(404,),
    description="The ETag is the routing-config version: send it back in If-Match to PUT without losing a change.",
)
def get_split(name: str):
    return _answer(read_split(name))


@bp.put("/<name>/split")
@endpoint(
    "admin",
    "Replace a model's whole split in one transaction",
    tag=TAG,
    body=SplitRequest,
    responses={200: SplitOut},
    errors=(404, 409, 412),
    headers={"If-Match": "The ETag of GET /models/<name>/split: 412 if the split has changed since"},
    description=(
        "Named versions become active at their weight (0: active, callable explicitly); active versions left out "
        "become inactive. Users move only from versions that shrink to versions that grow. With If-Match, 412 if "
        "the split changed since it was read. 422 for an unknown version or weights over 100; 409 for an archived one."
    ),
)
def put_split(name: str):
    body = parse_json(SplitRequest)
    if_match = None if not request.if_match or request.if_match.star_tag else request.if_match.as_set()
    return _answer(set_split(name, body.weights, if_match, on_commit=_publish_routing))
