"""A version's model file (PUT and GET /models/<model_id>/artifact) and its offline metrics."""

from __future__ import annotations

from uuid import UUID

from flask import Response, current_app, request, stream_with_context

from ..artifacts.service import Limits, received
from ..artifacts.store import PostgresArtifactStore
from ..contract import endpoint
from ..errors import NotFound
from ..http import json_response, parse_json
from . import bp, service
from .artifact_service import attach_artifact
from .schemas import MetricsRequest, ModelVersionOut
from .shapes import version_out

TAG = "registry"
FILE = "application/octet-stream"


@bp.put("/<uuid:model_id>/artifact")
@endpoint(
    "admin",
    "Upload a version's model file",
    tag=TAG,
    content_type=FILE,
    responses={200: ModelVersionOut},
    errors=(404, 409, 413, 422),
    description=(
        "The body is a scikit-learn estimator or Pipeline saved with skops.io.dump, for a version registered "
        "with algorithm 'sklearn'. It is loaded against the trust list and probed before it is stored: 422 "
        "says why a file is refused, 413 gives the size limit (ARTIFACT_MAX_BYTES). The same bytes again "
        "answer 200 and change nothing; different bytes for a version that has a model file are 409."
    ),
)
def upload_artifact(model_id: UUID):
    settings = current_app.extensions["settings"]
    limits = Limits(settings.artifact_max_bytes, settings.artifact_probe_budget_ms / 1000)
    # A chunked body without a terminated input cannot be told from an empty one (werkzeug's rule).
    length = request.content_length
    if length is None and not request.environ.get("wsgi.input_terminated"):
        length = 0
    cache = current_app.extensions["artifact_cache"]
    with received(request.environ["wsgi.input"], length, limits.max_bytes, settings.instance_dir / "uploads") as body:
        version = attach_artifact(str(model_id), body, limits, cache)
    return json_response(version_out(version))


@bp.get("/<uuid:model_id>/artifact")
@endpoint(
    "read",
    "Download a version's model file",
    tag=TAG,
    responses={200: {"type": "string", "format": "binary"}},
    errors=(404,),
    description="The bytes that were uploaded, with ETag = their sha256 (If-None-Match answers 304).",
)
def download_artifact(model_id: UUID):
    version = service.get_version(str(model_id))
    artifact = version.artifact
    if artifact is None:
        raise NotFound(f"model {version.name!r} version {version.version!r} has no model file")
    if artifact.sha256 in request.if_none_match:
        response = Response(status=304)
    else:
        chunks = PostgresArtifactStore().chunks(artifact.sha256, artifact.chunks)
        response = Response(stream_with_context(chunks), mimetype=FILE)
        response.headers["Content-Length"] = str(artifact.size_bytes)
        filename = f"{version.name}-{version.version}.skops"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(artifact.sha256)
    return response


@bp.post("/<uuid:model_id>/metrics")
@endpoint(
    "admin",
    "Record offline metrics of a version",
    tag=TAG,
    body=MetricsRequest,
    responses={200: ModelVersionOut},
    errors=(404,),
    description="Measured before it serves (held-out accuracy, say); shown beside its online accuracy.",
)
def record_metrics(model_id: UUID):
    body = parse_json(MetricsRequest)
    return json_response(version_out(service.set_metrics(str(model_id), body.metrics)))
