"""The HTTP edge: no cross-site writes, no DNS rebinding onto an open service, bounded metric labels,
the pages' security headers, and `make run` listening on this machine only."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from tests.api import activate, register
from tests.apps import make_settings, reset_state, shutdown
from tests.support import ROOT
from webapp import create_app
from webapp.config import LOOPBACK_HOSTS, Settings
from webapp.dashboard.page import PLOTLY_FILE, PLOTLY_FILES, PLOTLY_STYLE_HASHES

FOREIGN = {"Origin": "https://evil.example"}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def make_app(postgres_url: str, redis_url: str, tmp_path: Path, **settings: str) -> Flask:
    application = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, **settings))
    reset_state(application)
    return application


# --- No cross-site writes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        {"data": {"anything": "1"}},  # what an HTML form on another site posts
        {"data": "{}", "content_type": "text/plain"},  # what fetch(..., {mode: "no-cors"}) may send
        {"data": {"anything": "1"}, "content_type": "multipart/form-data"},
        {},  # no body, no type: fetch(..., {method: "POST", mode: "no-cors"})
    ],
    ids=["form", "text/plain", "multipart", "no type"],
)
def test_a_cross_site_deactivate_without_a_key_is_refused_and_the_version_stays_active(client, how):
    model_id = register(client)["model_id"]
    activate(client, model_id, 100)
    error = error_of(client.post(f"/models/{model_id}/deactivate", headers=FOREIGN, **how), 415)
    assert error["code"] == "unsupported_media_type"
    assert error["message"].startswith("send the body as JSON, with 'Content-Type: application/json'")
    assert client.get(f"/models/{model_id}").get_json()["status"] == "active"


def test_an_empty_body_sent_as_json_reads_as_an_empty_object(client):
    model_id = register(client)["model_id"]
    activate(client, model_id, 100)
    response = client.post(f"/models/{model_id}/deactivate", content_type="application/json")
    assert response.status_code == 200 and response.get_json()["status"] == "inactive"
    error = error_of(client.post("/models", content_type="application/json"), 422)  # {}: its fields are missing
    assert error["code"] == "validation_error" and {d["field"] for d in error["details"]} == {"name", "version"}


def test_a_json_type_with_a_charset_is_accepted(client):
    response = client.post(
        "/models", data='{"name": "sentiment", "version": "1.0.0"}', content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_predict_not_sent_as_json_is_415_on_the_fast_path_too(client, content_type):
    activate(client, register(client)["model_id"], 100)
    response = client.post("/predict", data='{"text": "I love this!"}', content_type=content_type)
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_a_route_that_does_not_exist_keeps_its_404_and_a_method_its_405(client):
    assert error_of(client.post("/nowhere", data="x", content_type="text/plain"), 404)["code"] == "not_found"
    assert error_of(client.post("/health", data="x", content_type="text/plain"), 405)["code"] == "method_not_allowed"


def test_a_preflight_is_never_granted(client):
    model_id = register(client)["model_id"]
    preflight = {
        **FOREIGN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key",
    }
    for path in (f"/models/{model_id}/deactivate", "/models", "/predict", "/models/sentiment/split", "/health"):
        response = client.options(path, headers=preflight)
        granted = [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
        assert granted == [], (path, granted)
    answered = client.post("/models", json={"name": "sentiment", "version": "2.0.0"}, headers=FOREIGN)
    assert not [name for name, _ in answered.headers.items() if name.lower().startswith("access-control-")]


# --- Host check (DNS rebinding) -------------------------------------------------------------------


def test_with_the_admin_scope_open_a_foreign_host_is_400_and_changes_nothing(client):
    model_id = register(client)["model_id"]
    for method, path, body in [
        ("GET", "/health", None),
        ("POST", f"/models/{model_id}/activate", {"percent": 100}),
        ("POST", "/predict", {"text": "I love this!"}),  # answered ahead of Flask when allowed: checked there too
        ("GET", "/nowhere", None),
    ]:
        response = client.open(path, method=method, json=body, headers={"Host": "evil.example"})
        error = error_of(response, 400)
        assert error["code"] == "bad_request" and "ALLOWED_HOSTS" in error["message"], path
        assert "evil.example" not in error["message"]
        assert response.headers["X-Request-ID"] and response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/models/{model_id}").get_json()["status"] == "inactive"


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:5000", "[::1]", "[::1]:8000", "LocalHost"])
def test_with_the_admin_scope_open_the_loopback_names_are_served(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.1.evil.example:80", "::1"])
def test_with_the_admin_scope_open_other_names_are_refused(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 400


def test_with_admin_keys_set_any_host_is_served(postgres_url, redis_url, tmp_path):
    application = make_app(postgres_url, redis_url, tmp_path, ADMIN_API_KEYS="edge-admin")
    try:
        client = application.test_client()
        assert client.get("/health", headers={"Host": "api.example.com"}).status_code == 200
        assert client.get("/health", headers={"Host": "evil.example:8000"}).status_code == 200
    finally:
        shutdown(application)


def test_allowed_hosts_names_the_hosts_served_and_a_star_serves_all(postgres_url, redis_url, tmp_path):
    listed = make_app(
        postgres_url, redis_url, tmp_path / "listed", ALLOWED_HOSTS="Router.Internal, api.example.com:443"
    )
    star = make_app(postgres_url, redis_url, tmp_path / "star", ALLOWED_HOSTS="*")
    try:
        client = listed.test_client()
        assert client.get("/health", headers={"Host": "router.internal:8000"}).status_code == 200
        assert client.get("/health", headers={"Host": "api.example.com"}).status_code == 200
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 400  # the list replaces the default
        assert star.test_client().get("/health", headers={"Host": "evil.example"}).status_code == 200
    finally:
        shutdown(listed)
        shutdown(star)


def test_allowed_hosts_default_follows_the_admin_scope():
    assert Settings.from_env({}).served_hosts == LOOPBACK_HOSTS == {"localhost", "127.0.0.1", "[::1]"}
    assert Settings.from_env({"ADMIN_API_KEYS": "k"}).served_hosts is None
    assert Settings.from_env({"READ_API_KEYS": "k"}).served_hosts == LOOPBACK_HOSTS  # the admin scope is still open
    assert Settings.from_env({"ALLOWED_HOSTS": "A.example:8000,b.example"}).served_hosts == {"a.example", "b.example"}
    assert Settings.from_env({"ALLOWED_HOSTS": "*", "ADMIN_API_KEYS": ""}).served_hosts is None


def test_make_run_serves_this_machine_only(tmp_path, postgres_url):
    """The Procfile's `gunicorn wsgi:app` (what `make run` starts through honcho, which sets PORT) binds 127.0.0.1."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert procfile["web"] == "gunicorn wsgi:app"
    env = {key: value for key, value in os.environ.items() if key not in ("BIND", "GUNICORN_CMD_ARGS")}
    (tmp_path / "metrics").mkdir()  # --print-config loads the app, before gunicorn's hooks would make it
    env.update(PORT="5000", INSTANCE_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    env["DATABASE_URL"] = postgres_url  # the app needs a database to load; make run's is the embedded one
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    run = subprocess.run(
        [gunicorn, "--print-config", "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    bind = [line for line in run.stdout.splitlines() if line.split(" ", 1)[0] == "bind"]
    assert bind == ["bind" + " " * 31 + "= ['127.0.0.1:8000']"], bind


# --- Bounded metric labels ------------------------------------------------------------------------


def http_label_values(client, label: str) -> set[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        if family.name == "router_http_request_duration_seconds"
        for sample in family.samples
    }


def test_made_up_methods_and_paths_add_no_label_values(app, client):
    routed = {method for rule in app.url_map.iter_rules() for method in rule.methods}
    assert routed == {"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"}
    for number in range(40):
        assert client.open("/models", method=f"ZZ{number}").status_code == 405
        assert client.get(f"/made-up-{number}").status_code == 404
    assert client.open("/models", method="PATCH").status_code == 405  # a method no route takes
    methods = http_label_values(client, "method")
    assert "other" in methods and methods <= routed | {"other"}, methods
    endpoints = http_label_values(client, "endpoint")
    assert "unmatched" in endpoints
    assert not [endpoint for endpoint in endpoints if "made-up" in endpoint]


# --- Headers --------------------------------------------------------------------------------------


class _Inline(HTMLParser):
    """Inline script or style in a page: what its policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith("on")]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("page", ["/dashboard", "/docs"])
def test_the_pages_run_only_this_servers_scripts_and_cannot_be_framed(client, page):
    response = client.get(page)
    assert response.status_code == 200 and response.mimetype == "text/html"
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"][0] == "'self'" and "'unsafe-inline'" not in directives["style-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    inline = _Inline()
    inline.feed(response.get_data(as_text=True))
    assert inline.found == []
    for source in ("/docs/static/docs.js", "/dashboard/static/dashboard.js"):
        if source.startswith(page):
            assert source in response.get_data(as_text=True)
            assert client.get(source).status_code == 200


def test_the_dashboard_admits_by_hash_exactly_the_styles_the_installed_plotly_adds(client):
    """After a plotly upgrade this names the hashes to put in webapp/dashboard/page.py."""
    bundle = (PLOTLY_FILES / PLOTLY_FILE).read_text(encoding="utf-8")
    assert 'createElement("style")' in bundle
    added = ["", *re.findall(r"\.textContent='([^'\\]*)'", bundle)]  # the empty element, and inlined stylesheets
    digests = [base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() for css in added]
    assert sorted(digests) == sorted(PLOTLY_STYLE_HASHES)
    style_src = policy(client.get("/dashboard"))["style-src"]
    assert style_src == ["'self'", *(f"'sha256-{digest}'" for digest in PLOTLY_STYLE_HASHES)]
    assert policy(client.get("/docs"))["style-src"] == ["'self'"]


def test_every_answer_says_nosniff(client):
    activate(client, register(client)["model_id"], 100)
    answers = [
        client.get("/models"),
        client.post("/predict", json={"text": "I love this!"}),  # the fast path's answer
        client.get("/nowhere"),
        client.get("/openapi.json"),
        client.get("/dashboard/static/dashboard.css"),
    ]
    assert [response.headers.get("X-Content-Type-Options") for response in answers] == ["nosniff"] * len(answers)


@pytest.fixture
def flask_only(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(postgres_url, redis_url, tmp_path, PREDICT_FAST_PATH="false")
    yield application
    shutdown(application)


def test_a_foreign_host_is_refused_with_the_fast_path_off_too(flask_only):
    assert flask_only.test_client().get("/health", headers={"Host": "evil.example"}).status_code == 400
