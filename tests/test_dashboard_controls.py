"""The dashboard's controls in a real browser (Debian's chromium through Playwright), against the app served
from a thread with an admin key required: each control is driven from the page, with and without the key,
and its result read back through the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import TimeoutError

from tests.apps import make_settings, reset_state, shutdown
from tests.rollout_helpers import evaluate
from tests.test_dashboard_browser import ARTIFACTS, browser, serving, watched_page  # noqa: F401  (the fixture)
from tests.test_edge_pages_browser import LISTEN
from webapp import create_app

pytestmark = pytest.mark.slow

ADMIN = "dashboard-admin-key"
AS_ADMIN = {"X-API-Key": ADMIN}
WAIT_MS = 15_000  # a loaded machine: generous


@pytest.fixture
def admin_app(postgres_url: str, redis_url: str, broker_url: str, tmp_path) -> Iterator[Flask]:
    """The app with the admin scope behind a key (reads open), two versions at 50/50."""
    settings = make_settings(
        tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, CELERY_BROKER_URL=broker_url, ADMIN_API_KEYS=ADMIN
    )
    application = create_app(settings)
    reset_state(application)
    client = application.test_client()
    for version in ("1.0.0", "2.0.0"):
        assert (
            client.post("/models", json={"name": "sentiment", "version": version}, headers=AS_ADMIN).status_code == 201
        )
    assert (
        client.put(
            "/models/sentiment/split", json={"weights": {"1.0.0": 50, "2.0.0": 50}}, headers=AS_ADMIN
        ).status_code
        == 200
    )
    yield application
    shutdown(application)


@pytest.fixture
def api(admin_app: Flask) -> FlaskClient:
    return admin_app.test_client()


@pytest.fixture
def url(admin_app: Flask) -> Iterator[str]:
    with serving(admin_app) as served:
        yield served


class Dashboard:
    """The page, what it sent, and what went wrong in it."""

    def __init__(self, browser, url: str) -> None:  # noqa: F811
        self.console_errors: list[str] = []
        self.outside: list[str] = []
        self.writes: list[dict] = []
        self.page = watched_page(browser, self.console_errors, self.outside)
        self.page.on("request", self._record)
        self.page.add_init_script(LISTEN)  # the controls live under the page's Content-Security-Policy too
        self.page.goto(f"{url}/dashboard")
        self.page.wait_for_selector("#model-sentiment .split .legendtext", timeout=WAIT_MS)

    def _record(self, request) -> None:
        if request.method != "GET":
            self.writes.append({"method": request.method, "url": request.url, "headers": request.headers,
                                "body": request.post_data})  # fmt: skip

    def enter_admin_key(self, key: str = ADMIN) -> None:
        self.page.fill("#admin-input", key)
        self.page.click("#admin-form button")
        self.page.wait_for_selector("#model-sentiment .controls:not([hidden])", timeout=WAIT_MS)
        self.page.wait_for_selector("#model-sentiment .split-inputs input", timeout=WAIT_MS)

    def section(self, selector: str):
        return self.page.locator(f"#model-sentiment {selector}")

    def said(self, start: str) -> str:
        """Wait for the message above the controls to start with `start`; return it."""
        try:
            self.page.wait_for_function(
                """(start) => document.querySelector("#model-sentiment .control-message")
                                .textContent.startsWith(start)""",
                arg=start,
                timeout=WAIT_MS,
            )
        except TimeoutError as error:  # Playwright's: say what the page said instead
            raise AssertionError(f"the page said {self.section('.control-message').inner_text()!r}") from error
        return self.section(".control-message").inner_text()

    def audit_shows(self, action: str) -> None:
        self.page.wait_for_function(
            """(action) => [...document.querySelectorAll("#model-sentiment .audit tbody tr td:nth-child(2)")]
                         .some((cell) => cell.textContent === action)""",
            arg=action,
            timeout=WAIT_MS,
        )

    def clean(self) -> None:
        # The only console errors: the browser's notes on the refusals the test asked for.
        refusal = re.compile(r"Failed to load resource: the server responded with a status of (403|409|412|422)")
        assert all(refusal.match(error) for error in self.console_errors), self.console_errors
        assert self.outside == []
        assert self.page.evaluate("window.__violations") == []
        for write in self.writes:  # every change: JSON, the key as a header, never in a URL
            assert write["headers"]["content-type"] == "application/json", write
            assert write["headers"]["x-api-key"] in (ADMIN, "not-the-admin-key"), write
            assert "key" not in urlsplit(write["url"]).query, write


def weights(api: FlaskClient) -> dict[str, float]:
    return {v["version"]: v["traffic_percent"] for v in api.get("/models/sentiment/split").get_json()["versions"]}


def rollouts(api: FlaskClient) -> list[dict]:
    return api.get("/models/sentiment/rollouts").get_json()


def test_without_an_admin_key_the_page_shows_no_control(url, api, browser):  # noqa: F811
    dashboard = Dashboard(browser, url)
    page = dashboard.page
    assert page.locator("#admin-form").is_visible()
    assert dashboard.section(".controls").is_hidden()
    assert page.locator("#model-sentiment button:visible").count() == 0
    assert page.evaluate("sessionStorage.getItem('router.adminKey')") is None
    # With a key entered the controls show; forgetting it hides them again, and the tab keeps no key.
    dashboard.enter_admin_key()
    assert page.locator("#model-sentiment button:visible").count() >= 4
    page.click("#admin-forget")
    page.wait_for_selector("#model-sentiment .controls[hidden]", state="attached", timeout=WAIT_MS)
    assert page.locator("#model-sentiment button:visible").count() == 0
    assert page.evaluate("sessionStorage.getItem('router.adminKey')") is None
    assert dashboard.writes == []
    dashboard.clean()


def test_a_wrong_admin_key_shows_the_apis_refusal_and_changes_nothing(url, api, browser):  # noqa: F811
    dashboard = Dashboard(browser, url)
    dashboard.enter_admin_key("not-the-admin-key")
    dashboard.section(".split-inputs input[name='1.0.0']").fill("80")
    dashboard.section(".split-inputs input[name='2.0.0']").fill("20")
    dashboard.section(".split-form button[type=submit]").click()
    assert dashboard.said("Refused") == "Refused (HTTP 403): this API key is not accepted here (scope: admin)"
    assert weights(api) == {"1.0.0": 50, "2.0.0": 50}
    dashboard.clean()


def test_the_split_is_set_with_the_etag_it_read_and_a_change_since_is_refused(url, api, browser):  # noqa: F811
    dashboard = Dashboard(browser, url)
    dashboard.enter_admin_key()
    inputs = {v: dashboard.section(f".split-inputs input[name='{v}']") for v in ("1.0.0", "2.0.0")}
    assert [inputs[v].input_value() for v in inputs] == ["50", "50"]
    etag = api.get("/models/sentiment/split").headers["ETag"]
    inputs["1.0.0"].fill("60")
    inputs["2.0.0"].fill("30")
    dashboard.section(".split-form button[type=submit]").click()
    assert dashboard.said("Split set") == "Split set: 1.0.0 60%, 2.0.0 30%."
    assert weights(api) == {"1.0.0": 60, "2.0.0": 30}
    put = dashboard.writes[-1]
    assert (put["method"], urlsplit(put["url"]).path, put["headers"]["if-match"]) == (
        "PUT",
        "/models/sentiment/split",
        etag,
    )
    assert json.loads(put["body"]) == {"weights": {"1.0.0": 60, "2.0.0": 30}}
    dashboard.audit_shows("split")
    dashboard.page.wait_for_function(  # the page reads the change back: 60 + 30 served as 66.7 / 33.3
        """() => document.querySelector("#model-sentiment .split-note").textContent.includes("serves 66.7%")""",
        timeout=WAIT_MS,
    )

    # An edit started from a split someone else has changed since: 412, said plainly; nothing overwritten.
    inputs["1.0.0"].fill("90")
    inputs["2.0.0"].fill("10")
    headers = {**AS_ADMIN, "X-Request-ID": "someone-else"}
    assert api.put("/models/sentiment/split", json={"weights": {"2.0.0": 100}}, headers=headers).status_code == 200
    dashboard.section(".split-form button[type=submit]").click()
    assert dashboard.said("Refused") == "Refused (HTTP 412): someone changed it; reload"
    assert weights(api) == {"2.0.0": 100}
    assert inputs["1.0.0"].input_value() == "90"  # the edit is kept until reloaded
    dashboard.section(".split-reload").click()
    dashboard.page.wait_for_function(
        """() => document.querySelector("#model-sentiment .split-inputs input[name='2.0.0']").value === "100" """,
        timeout=WAIT_MS,
    )
    assert inputs["1.0.0"].input_value() == ""  # out of the split: inactive
    dashboard.clean()


def test_a_rollout_is_started_paused_resumed_and_aborted_from_the_page(url, api, browser):  # noqa: F811
    dashboard = Dashboard(browser, url)
    dashboard.enter_admin_key()
    form = dashboard.section(".rollout-form")
    fields = ("candidate", "baseline", "steps", "step_seconds", "min_requests_per_step", "max_accuracy_drop")
    defaults = [form.locator(f"[name={field}]").input_value() for field in fields]
    assert defaults == ["2.0.0", "", "1, 5, 25, 50, 100", "300", "200", "0.02"]
    assert dashboard.section(".rollout-actions").is_hidden()

    # Refused: the API's own message, and no rollout.
    form.locator("[name=baseline]").select_option("2.0.0")
    form.locator("button[type=submit]").click()
    expected = api.post(
        "/models/sentiment/rollouts", json={"candidate": "2.0.0", "baseline": "2.0.0"}, headers=AS_ADMIN
    )
    assert (
        dashboard.said("Refused") == f"Refused (HTTP {expected.status_code}): {expected.get_json()['error']['message']}"
    )
    assert rollouts(api) == []

    form.locator("[name=baseline]").select_option("")
    form.locator("[name=steps]").fill("10, 100")
    form.locator("button[type=submit]").click()
    started = dashboard.said("Rollout")
    [rollout] = rollouts(api)  # ids are not reset between tests
    assert started == f"Rollout {rollout['id']} started: 2.0.0 at 10% of traffic."
    assert (rollout["state"], rollout["steps"], rollout["step_seconds"]) == ("running", [10, 100], 300)
    assert weights(api) == {"1.0.0": 90, "2.0.0": 10}  # step 1: 10% of the two versions' traffic
    actions = dashboard.section(".rollout-actions")
    actions.wait_for(state="visible", timeout=WAIT_MS)
    assert form.is_hidden()  # one rollout at a time
    visible = lambda: actions.locator("button:visible").all_text_contents()  # noqa: E731
    assert visible() == ["Pause rollout", "Abort rollout"]  # not waiting for approval: no promote

    for button, state in (("Pause rollout", "paused"), ("Resume rollout", "running"), ("Abort rollout", "aborted")):
        actions.get_by_text(button).click()
        dashboard.said(f"Rollout {rollout['id']}: {button.split()[0].lower()} done, now {state}")
        assert rollouts(api)[0]["state"] == state
        if state == "paused":
            assert visible() == ["Resume rollout", "Abort rollout"]
    dashboard.audit_shows("rollout.abort")
    assert [w["body"] for w in dashboard.writes[-3:]] == ["{}", "{}", "{}"]
    form.wait_for(state="visible", timeout=WAIT_MS)  # over: a new one can start
    dashboard.clean()


def test_promote_shows_only_while_a_rollout_waits_for_approval(url, api, admin_app, browser):  # noqa: F811
    if "/rollouts/{rollout_id}/promote" not in api.get("/openapi.json").get_json()["paths"]:
        pytest.skip("POST /rollouts/<id>/promote is not in /openapi.json yet")
    dashboard = Dashboard(browser, url)
    dashboard.enter_admin_key()
    form = dashboard.section(".rollout-form")
    form.locator("[name=steps]").fill("10, 100")
    form.locator("[name=step_seconds]").fill("0")
    form.locator("[name=min_requests_per_step]").fill("0")
    form.locator("[name=gate]").check()  # a manual gate before the last step
    form.locator("button[type=submit]").click()
    dashboard.said("Rollout")
    [rollout] = rollouts(api)
    assert (rollout["steps"], rollout["gated_steps"]) == ([10, 100], [1])
    promote = dashboard.section(".rollout-actions [data-action=promote]")
    assert promote.is_hidden()
    evaluate(admin_app)  # the beat's pass: step 0 has met its time and requests, step 1 is gated
    assert rollouts(api)[0]["waiting_for"] == "approval"
    dashboard.page.reload()  # sooner than the next refresh; the admin key stays with the tab
    promote.wait_for(state="visible", timeout=WAIT_MS)
    assert "Waiting for approval" in dashboard.section(".rollout").inner_text()
    promote.click()
    dashboard.said(f"Rollout {rollout['id']}: promote done")
    [rollout] = rollouts(api)
    assert (rollout["step_index"], rollout["waiting_for"]) == (1, None)
    assert weights(api)["2.0.0"] == 100
    dashboard.audit_shows("rollout.promote")
    promote.wait_for(state="hidden", timeout=WAIT_MS)
    dashboard.clean()


def test_a_shadow_is_set_refused_and_stopped_from_the_page(url, api, browser):  # noqa: F811
    dashboard = Dashboard(browser, url)
    dashboard.enter_admin_key()
    form = dashboard.section(".shadow-form")
    shadow_of = lambda: {v["version"]: v["shadow_percent"] for v in api.get("/models?name=sentiment").get_json()}  # noqa: E731
    form.locator("[name=version]").select_option("2.0.0")
    form.locator("[name=percent]").fill("150")
    form.locator("button[type=submit]").click()
    assert dashboard.said("Refused").startswith("Refused (HTTP 422): ")
    assert shadow_of() == {"1.0.0": 0, "2.0.0": 0}

    form.locator("[name=percent]").fill("25")
    form.locator("button[type=submit]").click()
    assert dashboard.said("2.0.0") == "2.0.0 now mirrors 25% of routed requests."
    assert shadow_of() == {"1.0.0": 0, "2.0.0": 25}
    dashboard.audit_shows("shadow")
    stop = dashboard.section(".shadow-stop")
    stop.wait_for(state="visible", timeout=WAIT_MS)
    assert stop.all_text_contents() == ["Stop shadow of 2.0.0"]
    stop.click()
    assert dashboard.said("2.0.0 no longer") == "2.0.0 no longer mirrors."
    assert shadow_of() == {"1.0.0": 0, "2.0.0": 0}
    dashboard.section(".shadow-stop").wait_for(state="detached", timeout=WAIT_MS)
    dashboard.page.screenshot(path=str(ARTIFACTS / "dashboard-controls.png"), full_page=True)
    dashboard.clean()
