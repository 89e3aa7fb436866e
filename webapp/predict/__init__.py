"""Serving predictions: the hot path."""

from flask import Blueprint

bp = Blueprint("predict", __name__)

from . import views  # noqa: E402, F401  (attaches the routes)
