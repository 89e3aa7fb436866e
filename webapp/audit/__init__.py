"""The audit log: every registry change, who made it and in which request, newest first."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from . import views  # noqa: E402, F401  (attaches the routes)
