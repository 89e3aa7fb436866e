"""The dashboard page's policy and files, and the service index. The page (templates/dashboard.html) holds no
data: its script fetches the JSON API."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ..http import content_security_policy

SERVICE_NAME = "model-router"
# plotly.js as bundled in the installed `plotly` package: the page works offline, no CDN.
PLOTLY_FILES = Path(str(files("plotly") / "package_data"))
PLOTLY_FILE = "plotly.min.js"
STATIC_FILES = Path(__file__).parent / "static"
# The page runs only this server's scripts: no inline script, no eval. Styles are as strict but for two
# <style> elements plotly.js adds, admitted by their exact SHA-256 rather than by 'unsafe-inline' (which
# would let any injected <style> through): an empty one it then fills through the CSS object model (which
# a policy does not govern), and maplibre's stylesheet for map traces (unused here, added as the bundle
# loads). Hashes of plotly.js 4.1.1 (plotly 7.1.0); tests/test_edge_guards.py recomputes them from the
# installed bundle and names the new ones after an upgrade.
PLOTLY_STYLE_HASHES = (
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  # "" (the empty element)
    "ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o=",  # maplibre-gl.css as the bundle inlines it
)
POLICY = content_security_policy(PLOTLY_STYLE_HASHES)


def index() -> dict:
    """What GET / answers an API client: the service's name and where to go next."""
    return {
        "service": SERVICE_NAME,
        "links": {"docs": "/docs", "openapi": "/openapi.json", "dashboard": "/dashboard"},
    }


def wants_html(accept: str) -> bool:
    """True for a browser: its Accept header lists text/html."""
    return any(part.split(";")[0].strip() == "text/html" for part in accept.split(","))
