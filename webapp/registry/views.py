"""Registry endpoints: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import get_args

from flask import current_app, request

from ..errors import ValidationFailed
from ..http import json_response, parse_json
from ..models import ModelVersion
from ..schemas import Activate, ModelList, ModelVersionOut, RegisterModel, Status
from . import bp, service

STATUSES = get_args(Status)


def _out(version: ModelVersion) -> ModelVersionOut:
    return ModelVersionOut(
        model_id=str(version.id),
        name=version.name,
        version=version.version,
        description=version.description,
        accuracy=version.accuracy,
        algorithm=version.algorithm,
        params=version.params or {},
        status=version.status,
        traffic_percent=version.traffic_percent,
        created_at=version.created_at,
        activated_at=version.activated_at,
        archived_at=version.archived_at,
    )


def _publish_routing() -> None:
    current_app.extensions["router"].publish_from_database()


@bp.post("")
def register():
    version = service.register_version(parse_json(RegisterModel), on_commit=_publish_routing)
    return json_response(_out(version), status=201)


@bp.get("")
def list_models():
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed("invalid status", [{"field": "status", "message": f"expected one of {STATUSES}"}])
    versions = service.list_versions(name=request.args.get("name"), status=status)
    return json_response(ModelList(models=[_out(version) for version in versions]))


@bp.get("/<model_id>")
def get_model(model_id: str):
    return json_response(_out(service.get_version(model_id)))


@bp.post("/<model_id>/activate")
def activate(model_id: str):
    body = parse_json(Activate)
    return json_response(_out(service.activate(model_id, body.value, on_commit=_publish_routing)))


@bp.post("/<model_id>/deactivate")
def deactivate(model_id: str):
    return json_response(_out(service.deactivate(model_id, on_commit=_publish_routing)))


@bp.delete("/<model_id>")
def delete(model_id: str):
    return json_response(_out(service.archive(model_id, on_commit=_publish_routing)))
