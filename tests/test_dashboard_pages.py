"""GET / for API clients and browsers; the dashboard page and its files, served offline and openly."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.apps import make_settings, reset_state, shutdown
from webapp import create_app
from webapp.dashboard.page import PLOTLY_FILES, STATIC_FILES

READ = "read-key-1"
SCRIPTS = sorted(path.name for path in STATIC_FILES.glob("*.js"))
PAGE_FILES = ("/dashboard", "/dashboard/static/dashboard.css", *(f"/dashboard/static/{name}" for name in SCRIPTS))


@pytest.fixture
def keyed(postgres_url, redis_url, tmp_path) -> Iterator:
    """An app whose read scope needs a key."""
    settings = make_settings(
        tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, READ_API_KEYS=READ, ADMIN_API_KEYS="admin-key"
    )
    application: Flask = create_app(settings)
    reset_state(application)
    yield application.test_client()
    shutdown(application)


def test_api_client_gets_the_service_name_and_links(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json() == {
        "service": "model-router",
        "links": {"docs": "/docs", "openapi": "/openapi.json", "dashboard": "/dashboard"},
    }


def test_a_client_sending_no_accept_header_gets_json(client):
    assert client.get("/").get_json()["links"]["dashboard"] == "/dashboard"


def test_browser_is_redirected_to_the_dashboard(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/", headers={"Accept": accept})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_page_and_script_load_nothing_from_outside_the_service(client):
    for path in PAGE_FILES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", response.get_data(as_text=True)), path


def test_plotly_is_served_from_the_installed_package(client):
    response = client.get("/dashboard/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.get_data() == (PLOTLY_FILES / "plotly.min.js").read_bytes()
    response.close()


def test_the_page_is_open_but_its_data_needs_the_read_key(keyed):
    for path in PAGE_FILES:
        assert keyed.get(path).status_code == 200, path
    assert keyed.get("/models/stats/timeseries").status_code == 401
    assert keyed.get("/models/stats/timeseries", headers={"X-API-Key": READ}).status_code == 200


def test_the_script_sends_the_key_as_a_header_and_never_in_a_url(client):
    assert {"dashboard.js", "api.js"} <= set(SCRIPTS)
    script = client.get("/dashboard/static/api.js").get_data(as_text=True)
    assert '"X-API-Key": key' in script
    assert "sessionStorage.getItem" in script
    for name in SCRIPTS:
        script = client.get(f"/dashboard/static/{name}").get_data(as_text=True)
        assert not re.search(r"[?&](api_?key|key)=", script), name
        assert "localStorage" not in script, name  # a key lives as long as the tab, no longer
