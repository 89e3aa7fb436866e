"""Per-version statistics: materialized by a beat task, read by people."""

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/models")

from . import views  # noqa: E402, F401  (attaches the routes)
