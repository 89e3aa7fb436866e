"""The dashboard in a real browser (Debian's chromium through Playwright): against gunicorn, a Celery
worker and Postgres after a short replay with feedback; and, served from a thread, on what it says about
archived versions, a split under 100%, empty charts and the summary."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.api import activate, register
from tests.http_client import call, reachable
from tests.rollout_helpers import seed
from tests.support import ROOT, GunicornServer, free_port, unavailable, wait_for
from webapp.cli.datasets import load_labelled_sets
from webapp.cli.replay_traffic import Client, ReplayPlan, replay, setup_fifty_fifty
from webapp.extensions import db
from webapp.models import PredictionMinute

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
    # The reliability chart: each version with its expected calibration error, then the diagonal.
    calibration = legend(page, "calibration")
    assert calibration[-1] == "calibrated" and len(calibration) == 3, calibration
    assert all(re.fullmatch(r"[12]\.0\.0 \(ECE 0\.\d{3}\)", text) for text in calibration[:-1]), calibration
    assert page.locator("#model-sentiment .accuracy .errorbar").count() == 2
    summary = page.locator("#model-sentiment .verdict").inner_text()
    assert not re.search(r"epoch|sample ratio|p =|confidence sequence", summary), summary  # plain English
    page.click("#model-sentiment .detail summary")  # the statistics, one click away
    assert "Decision (" in page.locator("#model-sentiment .detail-text").inner_text()
    assert "sample ratio mismatch" in page.locator("#model-sentiment .detail-text").inner_text()
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
    # With an admin key (the admin scope is open here: any key is good) the page can operate the service;
    # tests/test_dashboard_controls.py drives each control. This is docs/dashboard.png.
    page.fill("#admin-input", "any-key")
    page.click("#admin-form button")
    page.wait_for_selector("#model-sentiment .rollout-actions [data-action=pause]:visible", timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-operable.png"), full_page=True)
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


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app served by werkzeug on 127.0.0.1 from a thread (no worker: the page reads and the API writes)."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def seed_minutes(app: Flask, model_id: str, count: int) -> None:
    """Predictions per minute for a version five minutes ago, as the stats refresh would have added them."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    with app.app_context():
        db.session.add(PredictionMinute(model_id=UUID(model_id), minute=minute, count=count))
        db.session.commit()


def test_dashboard_names_archived_versions_and_what_a_split_under_100_serves(app, client, served, browser):
    old = register(client, version="0.9.0")["model_id"]
    register(client, version="1.0.0")
    register(client, version="2.0.0")
    activate(client, old, 20)
    seed(app, old, requests=50, p95=3.0)  # it served, then was taken out and archived
    seed_minutes(app, old, 50)
    assert client.post(f"/models/{old}/deactivate", json={}).status_code == 200
    assert client.delete(f"/models/{old}", json={}).status_code == 200
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 60, "2.0.0": 30}}).status_code == 200

    console_errors: list[str] = []
    outside: list[str] = []
    page = watched_page(browser, console_errors, outside)
    page.goto(f"{served}/dashboard")
    page.wait_for_selector("#model-sentiment .audit tbody tr", timeout=15_000)
    page.wait_for_selector("#model-sentiment .latency .xtick", timeout=15_000)

    rows = page.locator("#model-sentiment .audit tbody tr")
    audit = [rows.nth(i).locator("td").all_text_contents() for i in range(rows.count())]
    assert [(row[1], row[2]) for row in audit] == [
        ("split", "1.0.0, 2.0.0"),
        ("delete", "0.9.0"),
        ("deactivate", "0.9.0"),
        ("activate", "0.9.0"),
        ("register", "2.0.0"),
        ("register", "1.0.0"),
        ("register", "0.9.0"),
    ]
    # Routing serves 60 + 30 as 66.7 / 33.3: the bars show what is served, and the page says why.
    assert legend(page, "split") == ["1.0.0 (active)", "2.0.0 (active)"]
    bars = page.locator("#model-sentiment .split .bartext").all_text_contents()
    assert bars == ["66.7% served (set 60%)", "33.3% served (set 30%)"]
    note = page.locator("#model-sentiment .split-note").inner_text()
    for said in ("adds up to 90%", "1.0.0 (set 60%) serves 66.7%", "2.0.0 (set 30%) serves 33.3%"):
        assert said in note, note
    # The archived version is marked where it still shows: its requests and its latency.
    assert legend(page, "rate") == ["0.9.0 (archived)"]
    assert "0.9.0 (archived)" in page.locator("#model-sentiment .latency .xtick").all_text_contents()
    # An empty chart says what would fill it.
    accuracy = page.locator("#model-sentiment .accuracy .annotation-text").all_text_contents()
    assert accuracy == ["No feedback yet: POST /feedback with the prediction_id and its label"]
    assert page.locator("#model-sentiment .verdict").inner_text() == (
        "No version has served anyone since the split last changed, so there is nothing to compare yet."
    )
    assert page.locator("#model-sentiment .detail-text").is_hidden()  # one click away
    page.click("#model-sentiment .detail summary")
    assert "Decision (insufficient_data)" in page.locator("#model-sentiment .detail-text").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-reading.png"), full_page=True)
    assert console_errors == []
    assert outside == []
