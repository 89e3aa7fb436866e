"""GET /health."""

from __future__ import annotations

from flask import current_app, jsonify

from ..contract import endpoint
from ..errors import ServiceUnavailable
from . import bp
from .health import REQUIRED, check_components
from .schemas import Health


@bp.get("/health")
@endpoint("read", "Health of the database, cache and broker", tag="system", responses={200: Health}, errors=(503,))
def health():
    components = check_components(current_app)
    down = [name for name in REQUIRED if components[name]["status"] != "ok"]
    if down:
        raise ServiceUnavailable(f"unavailable: {', '.join(down)}", {"down": down, "components": components})
    return jsonify(status="ok", components=components)
