"""POST /predict: validate, route, infer, buffer the log, answer.

A well-formed /predict is answered by `fastpath` before it reaches Flask. This view answers the
rest (bodies that fail validation, missing keys, unknown models), and every /predict when
PREDICT_FAST_PATH is off. Both build the answer with `service.answer`.
"""

from __future__ import annotations

from flask import current_app

from ..contract import endpoint
from ..http import json_response, parse_json
from . import bp, service
from .schemas import PredictionOut, PredictRequest


@bp.post("/predict")
@endpoint(
    "predict",
    "Predict the sentiment of a text with the version routing picks",
    tag="predict",
    body=PredictRequest,
    responses={200: PredictionOut},
    errors=(400, 404, 409, 500, 503),
    description="Sticky by user_id (SHA-256 bucket), weighted random without one, explicit with model_version.",
)
def predict():
    request = parse_json(PredictRequest)
    extensions = current_app.extensions
    table = extensions["router"].table()
    answer = service.answer(request, table, extensions["log_buffer"], extensions["error_buffer"])
    response = json_response(answer.result)
    if answer.after_sent is not None:  # after the answer has been sent, never before
        response.call_on_close(answer.after_sent)
    return response
