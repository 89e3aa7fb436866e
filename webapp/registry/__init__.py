"""The model registry: versions and their traffic split, for ops."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/models")

from . import artifact_views, views  # noqa: E402, F401  (attach the routes)
