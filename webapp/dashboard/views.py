"""GET / (JSON, or a redirect for browsers), the dashboard page and its files. All open: the data is not."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, send_from_directory

from ..http import html_page
from . import bp
from .page import PLOTLY_FILE, PLOTLY_FILES, POLICY, STATIC_FILES, index, wants_html


@bp.get("/")
def service_index():
    if wants_html(request.headers.get("Accept", "")):
        return redirect("/dashboard", code=302)
    return jsonify(index())


@bp.get("/dashboard")
def dashboard():
    return html_page(render_template("dashboard.html"), POLICY)


@bp.get("/dashboard/static/<path:filename>")
def dashboard_static(filename: str):
    return send_from_directory(STATIC_FILES, filename, max_age=300)


@bp.get("/dashboard/vendor/plotly.min.js")
def plotly_bundle():
    return send_from_directory(PLOTLY_FILES, PLOTLY_FILE, max_age=86400)
