"""POST /predict: validate, route, infer, buffer the log, answer."""

from __future__ import annotations

from functools import partial

from flask import current_app

from ..contract import endpoint
from ..http import json_response, parse_json
from ..metrics.instruments import count_prediction
from ..schemas import PredictionOut, PredictRequest
from . import bp, service, shadow


@bp.post("/predict")
@endpoint(
    "predict",
    "Predict the sentiment of a text with the version routing picks",
    tag="predict",
    body=PredictRequest,
    responses={200: PredictionOut},
    errors=(400, 404, 500, 503),
    description="Sticky by user_id (SHA-256 bucket), weighted random without one, explicit with model_version.",
)
def predict():
    request = parse_json(PredictRequest)
    extensions = current_app.extensions
    table, logs = extensions["router"].table(), extensions["log_buffer"]
    result = service.predict(request, table, logs, extensions["error_buffer"])
    count_prediction(
        result.model_name, result.model_version, result.routing, result.prediction, result.latency_ms / 1000
    )
    response = json_response(result)
    mirrors = shadow.pick(table, result)
    if mirrors:  # after the answer has been sent, never before
        response.call_on_close(partial(shadow.run, mirrors, request.text, request.user_key, result, logs))
    return response
