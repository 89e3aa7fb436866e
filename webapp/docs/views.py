"""GET /openapi.json, and Swagger UI at /docs with its files from the installed swagger-ui-py package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import current_app, jsonify, send_from_directory

from ..http import content_security_policy, html_page
from . import bp
from .openapi import build_openapi

SWAGGER_UI_FILES = str(files("swagger_ui") / "static")
STATIC_FILES = Path(__file__).parent / "static"
# Swagger UI sets its styles through the DOM's style properties, which a policy does not govern: no inline allowance.
POLICY = content_security_policy()

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Model router API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-url="/openapi.json"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/static/docs.js"></script>
</body>
</html>
"""


@bp.get("/openapi.json")
def openapi():
    document = current_app.extensions.get("openapi")
    if document is None:  # built once per process: routes and keys do not change at run time
        document = current_app.extensions["openapi"] = build_openapi(current_app)
    return jsonify(document)


@bp.get("/docs")
def docs():
    return html_page(_PAGE, POLICY)


@bp.get("/docs/static/<path:filename>")
def docs_static(filename: str):
    return send_from_directory(STATIC_FILES, filename, max_age=300)


@bp.get("/docs/assets/<path:filename>")
def docs_assets(filename: str):
    return send_from_directory(SWAGGER_UI_FILES, filename, max_age=86400)
