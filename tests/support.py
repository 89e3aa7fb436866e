"""Helpers for tests that run real processes: the worker, a web server, polling with a deadline."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from celery import Celery

import celeryconfig
from webapp.config import Settings

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")


def unavailable(what: str, how_to_start: str) -> None:
    """Skip a test whose service is down, or fail it under CI where services must be up."""
    message = f"{what} is not reachable; start it with: {how_to_start}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def wait_for(condition: Callable[[], T], timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    """Poll until `condition()` is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {result!r})")
        time.sleep(interval)


class ManagedProcess:
    """A child process in its own process group, its output collected for failure messages."""

    ready_marker: str = ""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.command = command
        # The venv's scripts first, so a Procfile's `gunicorn` and `celery` are this project's.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.env = {**os.environ, "PATH": path, **env, "PYTHONUNBUFFERED": "1"}
        self.name = name
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> None:
        self._ready.clear()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{self.name} did not start (exit code {self.process.poll()}):\n{self.tail()}")

    def _collect(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            if self.ready_marker in line:
                self._ready.set()

    def signal_group(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 20) -> None:
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgements."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])


class CeleryWorker(ManagedProcess):
    ready_marker = " ready."
    _started = itertools.count()

    def __init__(self, env: dict[str, str], concurrency: int = 2) -> None:
        # A node name of its own: two workers named alike on one vhost fight over the exclusive
        # remote-control queue, and the second one exits.
        name = f"test-{os.getpid()}-{next(self._started)}@%h"
        super().__init__(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={name}",
            ],
            env,
            "celery worker",
        )


class GunicornServer(ManagedProcess):
    ready_marker = "Booting worker"

    def __init__(self, env: dict[str, str], port: int, workers: int = 2) -> None:
        super().__init__(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            env,
            "gunicorn",
        )
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def empty_redis_database(redis_url: str, database: int) -> str:
    """A Redis database of the test's own, emptied: a routing cache no other test has written to."""
    url = f"{redis_url.rsplit('/', 1)[0]}/{database}"
    redis.Redis.from_url(url).flushdb()
    return url


# Every virtual host a test session makes is named "<prefix>.<run>.<purpose>.<n>": unique to the run, so
# nothing left by an earlier run can feed a test, and never deleted mid-run, because deleting a vhost
# (its quorum queues) makes the node stall new connections for seconds.
VHOST_PREFIX = os.environ.get("TEST_RABBITMQ_VHOST", "model_router_test")
_RUN = f"{os.getpid()}-{int(time.time())}"
_made_vhosts: list[str] = []


def rabbitmqctl(*arguments: str, check: bool = True) -> str:
    """Run rabbitmqctl against the test node; fail the test when it fails (unless check=False)."""
    node = os.environ.get("TEST_RABBITMQ_NODE")  # default: the local node rabbitmqctl finds itself
    command = ["rabbitmqctl", "-q", *(["-n", node] if node else []), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(arguments)} failed: {done.stderr.strip()}", pytrace=False)
    return done.stdout


def new_vhost(broker_url: str, purpose: str) -> str:
    """A RabbitMQ virtual host of the caller's own, new in this run: no other test's worker sees it."""
    name = f"{VHOST_PREFIX}.{_RUN}.{purpose}.{len(_made_vhosts)}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    _made_vhosts.append(name)
    return f"{broker_url.rsplit('/', 1)[0]}/{name}"  # the node's address, whatever vhost it named


def delete_test_vhosts() -> None:
    """Delete every virtual host this prefix's test runs made (at the start and the end of a session)."""
    for name in rabbitmqctl("list_vhosts", "--no-table-headers", check=False).split():
        if name.startswith(f"{VHOST_PREFIX}."):
            rabbitmqctl("delete_vhost", name, check=False)


def purge_task_queue(environment: dict[str, str]) -> int:
    """Discard the tasks waiting in the broker these settings point at; returns how many."""
    app = Celery("purge")
    app.conf.update(celeryconfig.celery_settings(Settings.from_env(environment)))
    with app.connection_for_write() as connection:  # not kombu's process-wide pool
        return app.control.purge(connection=connection)
