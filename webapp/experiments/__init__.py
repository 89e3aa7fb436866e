"""Experiments: which version is better, from outcomes clients report (feedback), with evidence."""

from flask import Blueprint

bp = Blueprint("experiments", __name__, url_prefix="/experiments")

from . import views  # noqa: E402, F401  (attaches the routes)
