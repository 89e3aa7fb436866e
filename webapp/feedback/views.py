"""POST /feedback: validate, buffer, answer 202. Stored by the worker, like prediction logs."""

from __future__ import annotations

from flask import current_app, request

from ..contract import endpoint
from ..http import json_response, parse_json
from . import bp
from .schemas import FeedbackAccepted, FeedbackBody
from .service import submit_feedback

# 1,000 records are about 75 KB; this leaves room for whitespace. Every other endpoint keeps 64 KB.
MAX_FEEDBACK_BODY_BYTES = 256 * 1024


@bp.post("/feedback")
@endpoint(
    "predict",
    "Report the true label, or a reward, of predictions",
    tag="feedback",
    body=FeedbackBody,
    responses={202: FeedbackAccepted},
    description=(
        "One record or a list of up to 1,000 (body up to 256 KB). A later feedback for the same prediction "
        "replaces an earlier one. Stored asynchronously: the stats refresh folds it into /experiments."
    ),
)
def post_feedback():
    request.max_content_length = MAX_FEEDBACK_BODY_BYTES
    body = parse_json(FeedbackBody)
    result = submit_feedback(list(body.root), current_app.extensions["feedback_buffer"])
    return json_response(result, status=202)
