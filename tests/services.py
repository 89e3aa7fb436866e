"""Throwaway Redis and Postgres servers on spare ports, for tests that stop and restart them.

The services every other test shares are never touched: a fault test that stops "Redis" or
"Postgres" stops one of these.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import redis
from flask_migrate import upgrade

from tests.apps import make_settings
from tests.support import ManagedProcess, free_port, wait_for
from webapp import create_app
from webapp.extensions import db


class ThrowawayRedis(ManagedProcess):
    """A redis-server persisting like the compose broker: append-only file, fsync every second."""

    ready_marker = "Ready to accept connections"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        super().__init__(
            [
                "redis-server",
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(directory),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
            ],
            {},
            "redis-server",
        )  # fmt: skip

    def shutdown(self) -> None:
        """SHUTDOWN, as an operator would: the append-only file is written, the process exits."""
        with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
            redis.Redis(port=self.port).shutdown()
        assert self.process is not None
        self.process.wait(10)


def _postgres_bin(tool: str) -> str:
    found = shutil.which(tool) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"))), None)
    if found is None:
        raise RuntimeError(f"{tool} not found: install the Postgres server binaries")
    return str(found)


class ThrowawayPostgres:
    """A Postgres cluster of its own (initdb) on a spare port, migrated to head, removed afterwards."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="model-router-fault-pg-"))
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # Postgres refuses to run as root: on a root CI machine the cluster belongs to `postgres`.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as_owner, _postgres_bin(tool), *args]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)

    def create(self, instance_dir: Path) -> None:
        self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        app = create_app(make_settings(instance_dir, DATABASE_URL=self.url))
        with app.app_context():
            upgrade()
            db.engine.dispose()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log_file = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-o", options, "-l", log_file, "-w", "start")
        wait_for(self.accepting, timeout=30, what=f"the throwaway Postgres on port {self.port}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def accepting(self) -> bool:
        probe = [_postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(probe, check=False).returncode == 0

    def remove(self) -> None:
        if (self.directory / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
