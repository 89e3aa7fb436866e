"""Fixtures: the real Postgres test database, Redis DB 15, and real worker processes.

Where Postgres or Redis cannot be reached the tests that need them skip, naming what to start;
with CI=true they fail instead, so a broken service never passes as a green run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.apps import make_settings, reset_state, shutdown
from tests.support import CeleryWorker, delete_test_vhosts, new_vhost, purge_task_queue, unavailable
from webapp import create_app
from webapp.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/model_router_test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The node's address; each session (and each fault test) gets a virtual host of its own on it
# (TEST_RABBITMQ_VHOST names their prefix, see tests/support.py).
TEST_RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
START_RABBITMQ = "rabbitmq-server -detached  (ready when `rabbitmq-diagnostics -q ping` succeeds)"


def _ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres", drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg2.connect(admin, connect_timeout=3)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{parsed.database}"')
    connection.close()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database, emptied and migrated to head once per session."""
    try:
        _ensure_database(TEST_DATABASE_URL)
    except psycopg2.OperationalError as exc:
        unavailable(f"Postgres at {TEST_DATABASE_URL} ({str(exc).strip()})", START_POSTGRES)
    app = create_app(make_settings(tmp_path_factory.mktemp("migrate"), DATABASE_URL=TEST_DATABASE_URL))
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade()
        db.engine.dispose()
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {TEST_REDIS_URL} ({exc})", START_REDIS)
    client.flushdb()
    return TEST_REDIS_URL


def rabbitmq_reachable(url: str) -> bool:
    parsed = make_url(url.replace("amqp://", "postgresql://", 1))  # only the host and port are read
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5672), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """RabbitMQ, the production broker: a virtual host of this session's own."""
    if not rabbitmq_reachable(TEST_RABBITMQ_URL):
        unavailable(f"RabbitMQ at {TEST_RABBITMQ_URL}", START_RABBITMQ)
    delete_test_vhosts()  # left by earlier runs, before anything here connects
    yield new_vhost(TEST_RABBITMQ_URL, "session")
    delete_test_vhosts()


@pytest.fixture
def app(postgres_url: str, redis_url: str, broker_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on Postgres, Redis and RabbitMQ, with empty tables."""
    application = create_app(
        make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, CELERY_BROKER_URL=broker_url)
    )
    reset_state(application)
    yield application
    shutdown(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def worker_env(
    postgres_url: str, redis_url: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment for worker processes that share the test database and broker."""
    return {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "INSTANCE_DIR": str(tmp_path_factory.mktemp("worker")),
        "STATS_REFRESH_SECONDS": "3600",  # tests refresh on demand, not on a schedule
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the tests' webhook receivers listen on 127.0.0.1
    }


@pytest.fixture(scope="session")
def celery_worker(worker_env: dict[str, str]) -> Iterator[CeleryWorker]:
    """A real `celery -A worker worker` process, shared by the tests that need one."""
    # Batches published by earlier tests' apps, with no worker running, are stale: discard them.
    purge_task_queue(worker_env)
    worker = CeleryWorker(worker_env)
    worker.start()
    yield worker
    worker.stop()
