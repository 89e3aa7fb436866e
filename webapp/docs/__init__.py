"""The API contract: /openapi.json generated from the code, and offline interactive docs at /docs."""

from flask import Blueprint

bp = Blueprint("docs", __name__)

from . import views  # noqa: E402, F401  (attaches the routes)
