"""The benchmarks' own Postgres database, Redis DB and RabbitMQ virtual host: a bench never touches dev or test data."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg2
import redis

from bench.processes import ROOT, VENV_BIN

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "model_router_bench")
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BENCH_VHOST = os.environ.get("BENCH_RABBITMQ_VHOST", "model_router_bench")
BENCH_BROKER_URL = f"amqp://guest:guest@127.0.0.1:5672/{BENCH_VHOST}"


def bench_database_url() -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"


def postgres_connection(url: str | None = None) -> psycopg2.extensions.connection:
    return psycopg2.connect(url or bench_database_url())


def reset_bench_services() -> str:
    """Recreate the bench database at the current schema, empty the bench Redis DB, make the vhost anew."""
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.close()
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    for command in (["delete_vhost", BENCH_VHOST], ["add_vhost", BENCH_VHOST]):
        subprocess.run(["rabbitmqctl", "-q", *command], capture_output=True, check=command[0] != "delete_vhost")
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", BENCH_VHOST, "guest", ".*", ".*", ".*"], check=True)
    url = bench_database_url()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": BENCH_REDIS_URL, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url
