"""POST /predict: validate, route, infer, buffer the log, answer."""

from __future__ import annotations

from flask import current_app

from ..contract import endpoint
from ..http import json_response, parse_json
from ..schemas import PredictionOut, PredictRequest
from . import bp, service


@bp.post("/predict")
@endpoint(
    "predict",
    "Predict the sentiment of a text with the version routing picks",
    tag="predict",
    body=PredictRequest,
    responses={200: PredictionOut},
    errors=(400, 404, 503),
    description="Sticky by user_id (SHA-256 bucket), weighted random without one, explicit with model_version.",
)
def predict():
    request = parse_json(PredictRequest)
    extensions = current_app.extensions
    result = service.predict(request, extensions["router"].table(), extensions["log_buffer"])
    return json_response(result)
