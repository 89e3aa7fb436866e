"""The model registry: versions and their traffic split, for ops."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/models")

from . import views  # noqa: E402, F401  (attaches the routes)
