"""Feedback: the true label (or a reward) for a prediction, reported by a client after the fact."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from . import views  # noqa: E402, F401  (attaches the routes)
