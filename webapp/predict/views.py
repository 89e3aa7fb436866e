"""POST /predict: validate, route, infer, buffer the log, answer."""

from __future__ import annotations

from flask import current_app

from ..http import json_response, parse_json
from ..schemas import PredictRequest
from . import bp, service


@bp.post("/predict")
def predict():
    request = parse_json(PredictRequest)
    extensions = current_app.extensions
    result = service.predict(request, extensions["router"].table(), extensions["log_buffer"])
    return json_response(result)
