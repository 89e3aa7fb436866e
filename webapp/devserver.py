"""`make run`: the embedded PostgreSQL (when DATABASE_URL is unset), the migrations, then the Procfile's
web, worker and beat under honcho; one Ctrl-C stops all of them and the database, and exits 0.

Run as `python -m webapp.devserver` from the repository root, with the venv's scripts on PATH.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .config import PROJECT_ROOT, ConfigError, Settings
from .embedded import EmbeddedDatabaseError, EmbeddedPostgres

HEALTH_POLL_SECONDS = 0.25


def main() -> int:
    """Start everything, wait for Ctrl-C (or SIGTERM), stop everything; the exit status for make."""
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        _say(str(exc))
        return 2
    env = _child_env()
    database = EmbeddedPostgres(settings.instance_dir) if settings.embedded else None
    try:
        if database is not None:
            urls = database.start()
            _say(f"embedded PostgreSQL {urls.server_version}: data in {urls.data_dir}, Unix socket only")
        _say("migrations: flask --app wsgi db upgrade")
        migrate = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=PROJECT_ROOT, env=env
        )
        if migrate.returncode != 0:
            _say(f"migrations failed (exit status {migrate.returncode})")
            return migrate.returncode
        status = _run_procfile(env, started)
    except KeyboardInterrupt:
        status = 0
    except (EmbeddedDatabaseError, ConfigError) as exc:
        _say(str(exc))
        return 2
    finally:
        # A second Ctrl-C must not cut the database's shutdown short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if database is not None:
            database.stop()
    what = "web, worker, beat and the embedded PostgreSQL" if database is not None else "web, worker and beat"
    _say(f"stopped {what}" if status == 0 else f"a process exited (status {status}); stopped {what}")
    return status


def _run_procfile(env: dict[str, str], started: float) -> int:
    """honcho in a session of its own: the terminal's Ctrl-C reaches it once, forwarded from here."""
    _say("starting web, worker and beat (honcho, Procfile)")
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start"], cwd=PROJECT_ROOT, env=env, start_new_session=True
    )
    threading.Thread(target=_announce_ready, args=(honcho, started), daemon=True).start()
    stopping = False
    while True:
        try:
            code = honcho.wait()
            break
        except KeyboardInterrupt:
            if not stopping:
                stopping = True
                _say("stopping web, worker and beat")
                honcho.send_signal(signal.SIGINT)  # honcho sends SIGTERM to each process: a warm stop
    # honcho answers SIGINT with 130; that is the stop we asked for, not a failure.
    return 0 if stopping else code


def _announce_ready(honcho: subprocess.Popen[bytes], started: float) -> None:
    url = f"http://127.0.0.1:{_bind_port()}/health"
    while honcho.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        # 401/403: API keys are set and /health wants a read key; the server answers all the same.
        if status in (200, 401, 403):
            _say(f"ready in {time.monotonic() - started:.1f} s: {url} answers {status}. Ctrl-C stops everything.")
            return
        time.sleep(HEALTH_POLL_SECONDS)


def _bind_port() -> str:
    # gunicorn.conf.py binds BIND, default 127.0.0.1:8000; a wildcard host is reachable on loopback too.
    return os.environ.get("BIND", "127.0.0.1:8000").rsplit(":", 1)[-1]


def _child_env() -> dict[str, str]:
    # The Procfile's gunicorn and celery, and flask, from this interpreter's venv whatever PATH says.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "PYTHONUNBUFFERED": "1"}


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
