"""docker-compose.yml, the Procfile and the migrations agree with the code (no Docker engine here)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT
from webapp.config import Settings

SETTING_NAMES = {field.alias for field in Settings.model_fields.values()}
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines if line.strip())}


def test_compose_has_the_whole_stack(compose):
    assert set(compose["services"]) == {"postgres", "rabbitmq", "redis", "migrate", "web", "worker", "beat"}


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
        assert set(environment) - {"BIND", "WEB_CONCURRENCY"} <= SETTING_NAMES, set(environment) - SETTING_NAMES


def test_compose_logs_json_from_every_app_process_and_the_worker_serves_metrics(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["LOG_FORMAT"] == "json", name
    assert compose["services"]["web"]["environment"]["LOG_REQUESTS"] == "true"
    worker = compose["services"]["worker"]
    port = Settings.from_env({k: v for k, v in worker["environment"].items() if "${" not in str(v)}).metrics_port
    assert port is not None and str(port) in worker["expose"]


def test_compose_settings_parse_and_point_at_the_compose_services(compose):
    environment = {k: v for k, v in compose["services"]["web"]["environment"].items() if "${" not in str(v)}
    settings = Settings.from_env(environment)
    assert "@postgres:5432/" in settings.sqlalchemy_database_uri
    assert settings.sqlalchemy_database_uri.startswith("postgresql+psycopg2://")
    assert settings.broker_kind == "rabbitmq"
    assert settings.broker_url.startswith("amqp://") and "@rabbitmq:5672/" in settings.broker_url
    assert settings.redis_url.startswith("redis://redis:6379/")
    postgres = compose["services"]["postgres"]["environment"]
    assert f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@" in settings.sqlalchemy_database_uri


def test_compose_serves_on_port_8000_with_health_checks(compose):
    web = compose["services"]["web"]
    assert web["ports"] == ["8000:8000"] and web["environment"]["BIND"] == "0.0.0.0:8000"
    assert "/health" in " ".join(web["healthcheck"]["test"])
    for name in ("postgres", "rabbitmq", "redis", "web", "worker"):
        assert compose["services"][name]["healthcheck"]["test"]


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


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_match_the_models(backend, tmp_path: Path, request):
    env = {"INSTANCE_DIR": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    if backend == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")  # migrated to head by the fixture
    else:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    check = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
