"""docker-compose.yml, the Procfile and the migrations agree with the code (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT
from webapp.config import Settings
from webapp.feedback.views import MAX_FEEDBACK_BODY_BYTES
from webapp.http import MAX_BODY_BYTES

SETTING_NAMES = {field.alias for field in Settings.model_fields.values()}
APP_SERVICES = ("web", "worker", "beat")
KEY_LISTS = ("ADMIN_API_KEYS", "PREDICT_API_KEYS", "READ_API_KEYS")
# gunicorn's own settings, read by gunicorn.conf.py (BIND, WEB_CONCURRENCY) or by gunicorn (FORWARDED_ALLOW_IPS).
GUNICORN_SETTINGS = {"BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}
# `${NAME:?message}`: compose refuses to start while NAME is unset or empty, and says the message.
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?(?P<message>[^}]+)\}$")
NGINX_CONFIG = "/etc/nginx/conf.d/default.conf"


def as_started(environment: dict) -> dict[str, str]:
    """A service's environment as the app sees it once the stack starts: each required variable set."""
    resolved = {}
    for name, value in environment.items():
        required = REQUIRED_VARIABLE.match(str(value))
        resolved[name] = f"{required['name'].lower()}-example" if required else str(value)
    return resolved


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines if line.strip())}


def test_compose_has_the_whole_stack(compose):
    assert set(compose["services"]) == {"postgres", "rabbitmq", "redis", "migrate", "web", "worker", "beat", "proxy"}


def test_compose_runs_the_same_commands_as_the_procfile(compose, procfile):
    for name in APP_SERVICES:
        assert compose["services"][name]["command"] == procfile[name]
    assert procfile["web"] == ["gunicorn", "wsgi:app"]
    assert procfile["worker"][:4] == ["celery", "-A", "worker", "worker"]
    assert procfile["beat"][:4] == ["celery", "-A", "worker", "beat"]


def test_compose_migrates_before_the_app_starts(compose):
    assert compose["services"]["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        for service in ("postgres", "rabbitmq", "redis"):
            assert depends[service]["condition"] == "service_healthy", (name, service)


def test_compose_environment_names_only_settings_the_code_reads(compose):
    for name in ("migrate", *APP_SERVICES):
        environment = compose["services"][name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL"} <= set(environment)
        assert set(environment) - GUNICORN_SETTINGS <= SETTING_NAMES, set(environment) - SETTING_NAMES


def test_compose_logs_json_from_every_app_process_and_the_worker_serves_metrics(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["LOG_FORMAT"] == "json", name
    assert compose["services"]["web"]["environment"]["LOG_REQUESTS"] == "true"
    worker = compose["services"]["worker"]
    port = Settings.from_env(as_started(worker["environment"])).metrics_port
    assert port is not None and str(port) in worker["expose"]


def test_compose_settings_parse_and_point_at_the_compose_services(compose):
    settings = Settings.from_env(as_started(compose["services"]["web"]["environment"]))
    assert "@postgres:5432/" in settings.sqlalchemy_database_uri
    assert settings.sqlalchemy_database_uri.startswith("postgresql+psycopg2://")
    assert settings.broker_kind == "rabbitmq"
    assert settings.broker_url.startswith("amqp://") and "@rabbitmq:5672/" in settings.broker_url
    assert settings.redis_url.startswith("redis://redis:6379/")
    postgres = compose["services"]["postgres"]["environment"]
    assert f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@" in settings.sqlalchemy_database_uri


def test_compose_serves_on_port_8000_with_health_checks(compose):
    web = compose["services"]["web"]
    assert web["expose"] == ["8000"] and web["environment"]["BIND"] == "0.0.0.0:8000"
    assert compose["services"]["proxy"]["ports"] == ["8000:8000"]
    assert "/health" in " ".join(web["healthcheck"]["test"])
    for name in ("postgres", "rabbitmq", "redis", "web", "worker"):
        assert compose["services"][name]["healthcheck"]["test"]


def test_compose_publishes_only_the_proxy_with_the_repository_config(compose):
    proxy = compose["services"]["proxy"]
    image, _, tag = proxy["image"].partition(":")
    assert image == "nginx" and tag[:1].isdigit(), f"pin nginx to a version: {proxy['image']}"
    assert proxy["ports"] == ["8000:8000"]
    mounts = [volume.split(":") for volume in proxy["volumes"]]
    assert [(source, mode) for source, target, mode in mounts if target == NGINX_CONFIG] == [
        ("./deploy/nginx.conf", "ro")
    ]
    assert (ROOT / "deploy" / "nginx.conf").is_file()
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    published = [name for name, service in compose["services"].items() if service.get("ports")]
    assert published == ["proxy"], "only the proxy takes clients: web's sync workers need whole requests"


def test_the_proxy_config_buffers_requests_for_web_and_caps_bodies_at_the_service_limits(compose):
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    directives = [line.split("#")[0].strip() for line in config.splitlines()]
    assert f"server web:{compose['services']['web']['expose'][0]};" in directives
    assert "listen 8000;" in directives
    for directive in ("proxy_request_buffering on;", "proxy_buffering on;", "proxy_set_header Host $http_host;"):
        assert directive in directives
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout"):
        assert any(line.startswith(f"{timeout} ") for line in directives), timeout
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"):
        assert any(line.startswith(f"proxy_set_header {header} ") for line in directives), header
    units = {"k": 1024, "m": 1024 * 1024}
    caps = [
        int(line.split()[1][:-2]) * units[line.split()[1][-2]]
        for line in directives
        if line.startswith("client_max_body_size ")
    ]
    # The server's, then `location = /feedback`'s, then the model files' (the service's defaults).
    assert caps == [MAX_BODY_BYTES, MAX_FEEDBACK_BODY_BYTES, Settings.from_env({}).artifact_max_bytes]
    assert "location = /feedback {" in directives
    assert "location ~ ^/models/[^/]+/artifact$ {" in directives


def test_compose_requires_every_key_list_and_requires_keys_in_the_app(compose):
    environments = {"x-app": compose["x-app"]["environment"]}
    environments |= {name: compose["services"][name]["environment"] for name in ("migrate", *APP_SERVICES)}
    for service, environment in environments.items():
        for name in KEY_LISTS:
            required = REQUIRED_VARIABLE.match(str(environment[name]))
            assert required and required["name"] == name, f"{service}: {name} = {environment[name]!r}"
            assert name in required["message"], "the message names what to set"
        assert environment["REQUIRE_API_KEYS"] == "true", service


def test_the_image_makes_the_spool_directory_the_app_users_and_private(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "web-spool:/app/instance/spool" in compose["services"]["web"]["volumes"]
    assert "WORKDIR /app\n" in dockerfile
    # Made before `USER app`, as root can, for the app user; a fresh named volume copies owner and mode.
    before_user = dockerfile.split("\nUSER app\n")[0]
    assert re.search(r"install -d -o app -g app -m 0700 (/app/)?instance/spool\b", before_user), before_user


def test_compose_rabbitmq_keeps_queued_batches_across_restarts(compose):
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:3.")
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    assert rabbitmq["hostname"], "the node's name, and so its data directory, follow the host name"
    assert any(volume.endswith(":/var/lib/rabbitmq") for volume in rabbitmq["volumes"])
    broker = compose["x-app"]["environment"]["CELERY_BROKER_URL"]
    user, password = rabbitmq["environment"]["RABBITMQ_DEFAULT_USER"], rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"]
    assert broker.startswith(f"amqp://{user}:{password}@rabbitmq:5672/")


def test_the_image_installs_the_pinned_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"unpinned requirement: {line}"


def test_migrations_match_the_models(postgres_url: str, tmp_path: Path):
    # The test database is migrated to head by the fixture.
    env = {"INSTANCE_DIR": str(tmp_path), "PATH": str(Path(sys.executable).parent), "DATABASE_URL": postgres_url}
    check = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
