"""Throwaway Redis, RabbitMQ and Postgres servers on spare ports, for tests that stop and restart them.

The services every other test shares are never touched: a fault test that stops "Redis",
"RabbitMQ" or "Postgres" stops one of these.
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


RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


class ThrowawayRabbit(ManagedProcess):
    """A RabbitMQ node of its own: node name, AMQP and distribution ports, data and log directories.

    It runs in the foreground, so `kill()` is a real SIGKILL of the broker, and a restart on the same
    data directory shows what it had written to disk.
    """

    ready_marker = "Starting broker... completed"

    def __init__(self) -> None:
        # Not under pytest's tmp_path: that tree is private to root, and the node runs as `rabbitmq`.
        directory = self.directory = Path(tempfile.mkdtemp(prefix="model-router-fault-rabbitmq-"))
        self.port, dist_port = free_port(), free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        config, plugins = directory / "rabbitmq.conf", directory / "enabled_plugins"
        config.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        plugins.write_text("[].\n")
        # The broker refuses to run as root: on a root CI machine the node belongs to `rabbitmq`.
        as_owner = ["runuser", "-u", "rabbitmq", "--"] if os.geteuid() == 0 else []
        if as_owner:
            for path in (directory, config, plugins):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        super().__init__(
            [*as_owner, RABBITMQ_SERVER],
            {
                "RABBITMQ_NODENAME": f"model-router-test-{self.port}@localhost",
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(dist_port),
                "RABBITMQ_BASE": str(directory),
                "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
                "RABBITMQ_LOG_BASE": str(directory / "log"),
                "RABBITMQ_CONFIG_FILE": str(config),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
                "RABBITMQ_PID_FILE": str(directory / "pid"),
                "ERL_CRASH_DUMP": str(directory / "erl_crash.dump"),
                "HOME": "/var/lib/rabbitmq" if as_owner else str(directory),
            },
            "rabbitmq-server",
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


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
