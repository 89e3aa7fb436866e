"""The pages under their Content-Security-Policy in a real browser (Debian's chromium through Playwright):
Swagger UI and the dashboard's charts render, and the browser reports no violation nor any other error."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.api import activate, register
from tests.support import free_port
from tests.test_dashboard_browser import browser, watched_page  # noqa: F401  (the fixture and the page)

pytestmark = pytest.mark.slow


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on Postgres, served by werkzeug on 127.0.0.1 in a thread (no worker: the pages only read)."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


LISTEN = """window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(
  `${event.violatedDirective} ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`));"""


def test_swagger_ui_renders_every_operation_under_the_policy(served, client, browser):  # noqa: F811
    operations = sum(len(item) for item in client.get("/openapi.json").get_json()["paths"].values())
    console_errors: list[str] = []
    outside: list[str] = []
    page = watched_page(browser, console_errors, outside)
    page.add_init_script(LISTEN)
    response = page.goto(f"{served}/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() == operations  # every operation of the document, drawn
    page.locator(".opblock-summary").first.click()  # an operation opened: more of the UI drawn
    page.wait_for_selector(".opblock-body", timeout=5_000)
    assert violations(page) == []
    assert console_errors == []
    assert outside == []


def test_the_dashboard_draws_its_charts_under_the_policy(served, client, browser):  # noqa: F811
    v1, v2 = register(client, version="1.0.0")["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 70)
    activate(client, v2, 30)
    console_errors: list[str] = []
    outside: list[str] = []
    page = watched_page(browser, console_errors, outside)
    page.add_init_script(LISTEN)
    page.goto(f"{served}/dashboard")
    page.wait_for_selector("#model-sentiment .split .legendtext", timeout=15_000)
    legend = page.locator("#model-sentiment .split .legendtext").all_text_contents()
    assert legend == ["1.0.0 (active)", "2.0.0 (active)"]
    # plotly's own style rules took (added through the CSS object model): its layered SVGs are positioned.
    position = "getComputedStyle(document.querySelector('#model-sentiment .split .main-svg')).position"
    assert page.evaluate(position) == "absolute"
    page.locator("#model-sentiment .split .nsewdrag").hover()  # over the bars: a hover label, more of plotly's styling
    page.wait_for_selector("#model-sentiment .split .hoverlayer .hovertext", timeout=5_000)
    assert violations(page) == []
    assert console_errors == []
    assert outside == []
