"""`make run` with no settings: the embedded PostgreSQL, web, worker and beat, one Ctrl-C to stop them all.

The end-to-end test runs the real `make run` on this checkout, with the venv the tests run in (`VENV=`) so
it installs nothing, and the embedded database under a temporary INSTANCE_DIR.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.http_client import call
from tests.support import ROOT, free_port, wait_for
from webapp.config import ConfigError, Settings
from webapp.embedded import URLS_FILE

VENV = Path(sys.executable).parent.parent
DEV_ONLY = {"pytest", "playwright", "hypothesis", "schemathesis", "ruff"}
# Settings that would point `make run` away from its embedded default.
SERVICE_SETTINGS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "ADMIN_API_KEYS", "PREDICT_API_KEYS")


class MakeRun:
    """`make run` in a process group of its own, as a terminal runs it; its output kept."""

    def __init__(self, instance_dir: Path, port: int) -> None:
        env = {key: value for key, value in os.environ.items() if key not in SERVICE_SETTINGS}
        env |= {"INSTANCE_DIR": str(instance_dir), "BIND": f"127.0.0.1:{port}", "STATS_REFRESH_SECONDS": "1"}
        self.base_url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            ["make", "run", f"VENV={VENV}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def processes(self) -> list[psutil.Process]:
        """Every process below make: the launcher, honcho, gunicorn and its workers, celery worker and beat."""
        return psutil.Process(self.process.pid).children(recursive=True)

    def ctrl_c(self) -> None:
        """What a terminal does on Ctrl-C: one SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def output(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def instance_dir() -> Iterator[Path]:
    # Not under pytest's basetemp: as root the server runs as another user, which must be able to walk
    # to its data directory, and every pytest session on the machine makes pytest-of-<user>/ private again.
    with tempfile.TemporaryDirectory(prefix="make-run-") as directory:
        yield Path(directory) / "instance"
        _stop_leftover_postgres(Path(directory) / "instance" / "postgres")


@pytest.fixture
def make_run(instance_dir: Path) -> Iterator[MakeRun]:
    run = MakeRun(instance_dir, free_port())
    yield run
    if run.process.poll() is None:  # the test failed before its Ctrl-C
        os.killpg(run.process.pid, signal.SIGTERM)
        run.process.wait(30)


@pytest.mark.slow
def test_make_run_serves_on_embedded_postgres_and_one_ctrl_c_stops_everything(make_run: MakeRun, instance_dir: Path):
    base_url = make_run.base_url
    started = time.monotonic()

    def healthy() -> dict | None:
        assert make_run.process.poll() is None, f"make run exited early:\n{make_run.output()}"
        try:
            status, body = call(base_url, "GET", "/health", timeout=2)
        except OSError:
            return None
        return body if status == 200 else None

    health = wait_for(healthy, timeout=40, interval=0.25, what="make run's /health to answer 200")
    print(f"/health answered 200 {time.monotonic() - started:.1f} s after make run started")
    database = health["components"]["database"]
    assert database["backend"] == "postgresql", database
    assert database["embedded"] is True
    assert database["server_version"].startswith("18."), database
    assert health["components"]["broker"]["kind"] == "embedded"
    assert "==> ready in" in make_run.output()

    # The README's flow; the prediction's log travels web -> broker (kombu on the embedded PostgreSQL)
    # -> worker -> database, and beat's stats refresh counts it.
    status, version = call(base_url, "POST", "/models", {"name": "sentiment", "version": "1.0.0"})
    assert status == 201, version
    status, body = call(base_url, "POST", f"/models/{version['model_id']}/activate", {"percent": 100})
    assert status == 200, body
    status, prediction = call(base_url, "POST", "/predict", {"text": "I love this!", "user_id": "user_123"})
    assert status == 200, prediction
    assert prediction["model_version"] == "1.0.0"

    def counted() -> bool:
        stats = call(base_url, "GET", "/models/stats")[1]
        return [entry["request_count"] for entry in stats] == [1]

    wait_for(counted, timeout=30, what="the prediction to reach /models/stats through the embedded broker")

    children = make_run.processes()
    postgres = psutil.Process(int((instance_dir / "postgres" / "postmaster.pid").read_text().split()[0]))
    names = " ".join(" ".join(process.cmdline()) for process in children)
    assert "gunicorn" in names and "celery" in names and "beat" in names, names

    make_run.ctrl_c()
    make_run.process.wait(60)
    output = make_run.output()
    # make itself always ends by the SIGINT it got; a recipe that failed would add "make: *** ... Error N".
    assert "make: ***" not in output, output[-3000:]
    assert "==> stopped web, worker, beat and the embedded PostgreSQL" in output, output[-3000:]
    left = [process for process in [*children, postgres] if _alive(process)]
    assert not left, [process.cmdline() for process in left]
    assert not (instance_dir / URLS_FILE).exists(), "the stopped database's URLs are withdrawn"


def _stop_leftover_postgres(data_dir: Path) -> None:
    """A failed test can leave the server running: a fast shutdown, so the next run starts clean."""
    try:
        postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return
    if postmaster.name() == "postgres":
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(30)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_make_run_installs_requirements_txt_only_and_it_brings_no_test_tools(tmp_path: Path):
    dry = subprocess.run(
        ["make", "-n", "run", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    installs = [line for line in dry.splitlines() if "pip install" in line]
    assert installs and all(line.endswith("-r requirements.txt") for line in installs), installs
    assert "requirements-dev.txt" not in dry

    tests = subprocess.run(
        ["make", "-n", "test", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "-r requirements-dev.txt" in tests

    # What requirements.txt pulls in, followed through the installed packages' own requirements.
    wanted = [Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines() if _is_pin(line)]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        wanted.extend(Requirement(text) for text in importlib.metadata.requires(name) or ())
    assert "embedded-postgres" in seen
    assert not seen & DEV_ONLY, seen & DEV_ONLY


def _is_pin(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith(("#", "-"))


def test_without_database_url_settings_read_the_embedded_database_make_run_published(tmp_path: Path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="DATABASE_URL is unset and no embedded PostgreSQL is running"):
        settings.sqlalchemy_database_uri  # noqa: B018

    (tmp_path / URLS_FILE).write_text(
        '{"database_url": "postgresql://postgres@/model_router?host=/x/postgres",'
        ' "broker_url": "sqla+postgresql+psycopg2://postgres@/celery_broker?host=/x/postgres",'
        ' "server_version": "18.6", "data_dir": "/x/postgres"}'
    )
    assert settings.embedded
    assert settings.sqlalchemy_database_uri == "postgresql+psycopg2://postgres@/model_router?host=/x/postgres"
    assert settings.broker_url.startswith("sqla+postgresql+psycopg2://postgres@/celery_broker?")
    assert settings.broker_kind == "embedded"

    external = Settings.from_env({"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@db:5432/router"})
    assert not external.embedded
    assert external.broker_url == "sqla+postgresql+psycopg2://u@db:5432/router"
    assert not re.search("sqlite", (ROOT / "webapp" / "config.py").read_text(), re.IGNORECASE)


def test_health_names_the_database_backend_and_version(client):
    database = client.get("/health").get_json()["components"]["database"]
    assert database["status"] == "ok"
    assert database["backend"] == "postgresql"
    assert database["embedded"] is False
    assert re.fullmatch(r"\d+(\.\d+)*", database["server_version"]), database
