"""Registry endpoints: versions, and a name's whole split (GET and PUT /models/<name>/split, with ETags)."""

from __future__ import annotations

from uuid import UUID

from flask import Response, current_app, request
from pydantic import TypeAdapter

from ..contract import endpoint
from ..experiments.schemas import ShadowReport
from ..experiments.shadow_report import shadow_report
from ..http import json_response, parse_json, parse_query
from . import bp, service
from .schemas import (
    Activate,
    ModelListQuery,
    ModelVersionDetail,
    ModelVersionOut,
    RegisterModel,
    Shadow,
    SplitOut,
    SplitRequest,
)
from .shapes import split_out, version_detail
from .shapes import version_out as _out
from .split_service import SplitView, read_split, set_split

TAG = "registry"
_VERSIONS = TypeAdapter(list[ModelVersionOut])


def _publish_routing() -> None:
    current_app.extensions["router"].publish_from_database()


@bp.post("")
@endpoint(
    "admin", "Register a model version", tag=TAG, body=RegisterModel, responses={201: ModelVersionOut}, errors=(409,)
)
def register():
    version = service.register_version(parse_json(RegisterModel), on_commit=_publish_routing)
    return json_response(_out(version), status=201)


@bp.get("")
@endpoint(
    "read",
    "List model versions",
    tag=TAG,
    query=ModelListQuery,
    responses={200: list[ModelVersionOut]},
    description="A plain JSON list, oldest first; the number of matching versions is in X-Total-Count.",
)
def list_models():
    query = parse_query(ModelListQuery)
    versions, total = service.list_versions(query.name, query.status, query.limit, query.offset)
    response = json_response([_out(version) for version in versions], adapter=_VERSIONS)
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.get("/<uuid:model_id>")
@endpoint(
    "read",
    "One model version",
    tag=TAG,
    responses={200: ModelVersionDetail},
    errors=(404,),
    description="With its offline metrics (measured before it served) beside its online accuracy from feedback.",
)
def get_model(model_id: UUID):
    return json_response(version_detail(service.get_version(str(model_id))))


@bp.post("/<uuid:model_id>/activate")
@endpoint(
    "admin",
    "Activate a version with a share of its model's traffic",
    tag=TAG,
    body=Activate,
    responses={200: ModelVersionOut},
    errors=(404, 409),
    description="409 if the active percents of the model would add up to more than 100, with the current allocation.",
)
def activate(model_id: UUID):
    body = parse_json(Activate)
    return json_response(_out(service.activate(str(model_id), body.value, on_commit=_publish_routing)))


@bp.post("/<uuid:model_id>/deactivate")
@endpoint("admin", "Deactivate a version (traffic 0)", tag=TAG, responses={200: ModelVersionOut}, errors=(404, 409))
def deactivate(model_id: UUID):
    return json_response(_out(service.deactivate(str(model_id), on_commit=_publish_routing)))


@bp.delete("/<uuid:model_id>")
@endpoint(
    "admin",
    "Archive an inactive version (its logs and stats are kept)",
    tag=TAG,
    responses={200: ModelVersionOut},
    errors=(404, 409),
)
def delete(model_id: UUID):
    return json_response(_out(service.archive(str(model_id), on_commit=_publish_routing)))


@bp.post("/<uuid:model_id>/shadow")
@endpoint(
    "admin",
    "Mirror a share of the model's routed requests to this version, after each answer",
    tag=TAG,
    body=Shadow,
    responses={200: ModelVersionOut},
    errors=(404, 409),
    description="The client never waits for the shadow nor sees it; percent 0 stops it. 409 for an archived version.",
)
def shadow(model_id: UUID):
    body = parse_json(Shadow)
    return json_response(_out(service.set_shadow(str(model_id), body.percent, on_commit=_publish_routing)))


@bp.get("/<uuid:model_id>/shadow")
@endpoint(
    "read",
    "How this version, as a shadow, compares with the versions it mirrored",
    tag=TAG,
    responses={200: ShadowReport},
    errors=(404,),
    description="Agreement and paired accuracy (McNemar), from the materialized statistics (docs/statistics.md).",
)
def shadow_comparison(model_id: UUID):
    return json_response(shadow_report(str(model_id)))


def _answer(split: SplitView) -> Response:
    body = split_out(split)
    response = json_response(body)
    response.set_etag(str(split.config_version))
    return response


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
