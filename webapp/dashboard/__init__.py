"""The ops face: GET / for API clients and browsers, and the dashboard page at /dashboard."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates")

from . import views  # noqa: E402, F401  (attaches the routes)
