"""The dashboard's HTML shell and the service index. The page holds no data: its script fetches the JSON API."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SERVICE_NAME = "model-router"
# plotly.js as bundled in the installed `plotly` package: the page works offline, no CDN.
PLOTLY_FILES = Path(str(files("plotly") / "package_data"))
PLOTLY_FILE = "plotly.min.js"
STATIC_FILES = Path(__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Model router dashboard</title>
  <link rel="stylesheet" href="/dashboard/static/dashboard.css">
  <script src="/dashboard/vendor/plotly.min.js"></script>
  <script src="/dashboard/static/dashboard.js" defer></script>
</head>
<body>
  <header>
    <h1>Model router</h1>
    <span id="status" role="status">loading…</span>
    <a href="/docs">API docs</a>
  </header>
  <form id="key-form" hidden>
    <label>This service needs a read API key:
      <input id="key-input" type="password" autocomplete="off" required></label>
    <button type="submit">Use key</button>
    <span>Kept in this tab's sessionStorage and sent as the X-API-Key header.</span>
  </form>
  <main id="models"></main>
</body>
</html>
"""


def index() -> dict:
    """What GET / answers an API client: the service's name and where to go next."""
    return {
        "service": SERVICE_NAME,
        "links": {"docs": "/docs", "openapi": "/openapi.json", "dashboard": "/dashboard"},
    }


def wants_html(accept: str) -> bool:
    """True for a browser: its Accept header lists text/html."""
    return any(part.split(";")[0].strip() == "text/html" for part in accept.split(","))
