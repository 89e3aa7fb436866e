"""The dashboard in a real browser (Debian's chromium through Playwright) against gunicorn, a Celery
worker and Postgres, after a short replay with feedback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.http_client import call, reachable
from tests.support import ROOT, GunicornServer, free_port, unavailable, wait_for
from webapp.cli.datasets import load_labelled_sets
from webapp.cli.replay_traffic import Client, ReplayPlan, replay, setup_fifty_fifty

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SPLIT_CHANGE_SECONDS = 15


@pytest.fixture
def service(app, celery_worker, worker_env):
    """gunicorn (2 workers) on the emptied test database, writing through the session's Celery worker."""
    server = GunicornServer(worker_env, free_port(), workers=2)
    server.start()
    wait_for(lambda: reachable(server.url), timeout=30, what="gunicorn")
    # On this loaded machine a web worker's first broker connection can time out (503); the replay
    # stops at the first 503 from POST /models/stats/refresh, so both workers connect first.
    wait_for(lambda: all(refresh_queued(server.url) for _ in range(4)), timeout=90, interval=0.5, what="refresh")
    yield server.url
    server.stop()


def refresh_queued(url: str) -> bool:
    return call(url, "POST", "/models/stats/refresh")[0] == 202


@pytest.fixture
def browser():
    """Headless chromium from the Debian package; Playwright never downloads a browser here."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        unavailable("chromium", "apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python", "pip install -r requirements-dev.txt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def watched_page(browser, console_errors: list[str], outside: list[str]):
    """A page that records console errors and aborts (and records) any request not to 127.0.0.1."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(str(error)))

    def only_local(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    return page


def legend(page, chart: str) -> list[str]:
    return page.locator(f"#model-sentiment .{chart} .legendtext").all_text_contents()


def test_dashboard_shows_the_experiment_and_follows_a_split_change(service, browser):
    texts = load_labelled_sets()["amazon"][:600]
    setup_fifty_fifty(Client(service, None), "sentiment")
    result = replay(texts, ReplayPlan(url=service, rate=300, users=200, feedback=True))
    assert not result.errors and sum(result.served.values()) == 600
    _, versions = call(service, "GET", "/models?name=sentiment")
    first = next(v["model_id"] for v in versions if v["version"] == "1.0.0")
    assert call(service, "POST", f"/models/{first}/metrics", {"metrics": {"accuracy_amazon": 0.53}})[0] == 200

    console_errors: list[str] = []
    outside: list[str] = []
    page = watched_page(browser, console_errors, outside)
    page.goto(f"{service}/")  # a browser asks for text/html: redirected to the page
    assert page.url == f"{service}/dashboard"
    page.wait_for_selector("#model-sentiment .accuracy .errorbar", timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert outside == []

    assert legend(page, "split") == ["1.0.0 (active)", "2.0.0 (active)"]
    assert legend(page, "rate") == ["1.0.0", "2.0.0"]
    assert legend(page, "latency") == ["p50", "p95"]
    assert legend(page, "accuracy") == ["1.0.0", "2.0.0"]
    assert page.locator("#model-sentiment .accuracy .errorbar").count() == 2
    assert "decision:" in page.locator("#model-sentiment .verdict").inner_text()
    assert page.locator("#model-sentiment .rollout").inner_text() == "No rollout."
    assert page.locator("#model-sentiment .audit tbody tr").count() >= 3  # two registrations and the split
    # Promised (offline metrics) beside measured (accuracy from the replay's feedback), per version.
    rows = page.locator("#model-sentiment .versions tbody tr")
    cells = [rows.nth(i).locator("td").all_text_contents() for i in range(rows.count())]
    assert [row[:2] for row in cells] == [["1.0.0", "textblob-basic"], ["2.0.0", "textblob-advanced"]]
    assert [row[3] for row in cells] == ["accuracy_amazon 0.530", "none"]
    assert all(re.fullmatch(r"0\.\d{3} on \d+ labelled", row[4]) for row in cells), cells

    status, _ = call(service, "PUT", "/models/sentiment/split", {"weights": {"2.0.0": 100}})
    assert status == 200
    page.wait_for_function(
        """() => [...document.querySelectorAll("#model-sentiment .split .legendtext")]
                   .some((text) => text.textContent === "1.0.0 (inactive)")""",
        timeout=SPLIT_CHANGE_SECONDS * 1000,
    )
    page.screenshot(path=str(ARTIFACTS / "dashboard-after-split.png"), full_page=True)

    rollout = {"candidate": "1.0.0", "baseline": "2.0.0", "steps": [10, 100]}
    status, body = call(service, "POST", "/models/sentiment/rollouts", rollout)
    assert status == 201, body
    page.wait_for_function(
        """() => document.querySelector("#model-sentiment .rollout").textContent
                   .startsWith("Rollout of 1.0.0 over 2.0.0: running, step 1 of 2, 10% of traffic; guardrails: ")""",
        timeout=SPLIT_CHANGE_SECONDS * 1000,
    )
    assert console_errors == []
    assert outside == []


@pytest.fixture
def keyed_service(app, worker_env):
    """gunicorn whose read scope needs a key (the registry stays open, to set up without one)."""
    server = GunicornServer({**worker_env, "READ_API_KEYS": READ_KEY}, free_port(), workers=2)
    server.start()
    wait_for(lambda: call(server.url, "GET", "/")[0] == 200, timeout=30, what="gunicorn")
    yield server.url
    server.stop()


READ_KEY = "dashboard-read-key"


def test_dashboard_asks_for_the_read_key_and_sends_it_only_as_a_header(keyed_service, browser):
    for version in ("1.0.0", "2.0.0"):
        assert call(keyed_service, "POST", "/models", {"name": "sentiment", "version": version})[0] == 201
    console_errors: list[str] = []
    outside: list[str] = []
    page = watched_page(browser, console_errors, outside)
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda request: sent.append((request.url, request.headers.get("x-api-key"))))
    page.goto(f"{keyed_service}/dashboard")
    page.wait_for_selector("#key-form:not([hidden])", timeout=15_000)
    page.fill("#key-input", READ_KEY)
    page.click("#key-form button")
    page.wait_for_selector("#model-sentiment .split .legendtext", timeout=15_000)

    assert legend(page, "split") == ["1.0.0 (inactive)", "2.0.0 (inactive)"]
    assert page.evaluate("sessionStorage.getItem('router.readKey')") == READ_KEY
    assert all(READ_KEY not in url for url, _ in sent)
    assert ("/models/stats/timeseries?minutes=60", READ_KEY) in [
        (urlsplit(u).path + "?" + urlsplit(u).query, k) for u, k in sent
    ]
    assert outside == []
    # The only console errors are the browser's notes on the 401s that made the page ask for the key.
    assert all("401" in error for error in console_errors), console_errors
