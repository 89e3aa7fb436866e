"""The request path alone, in one process: CPU µs per /predict, project against floor, interleaved.

"via-flask" is the project with PREDICT_FAST_PATH off: every /predict through Flask's dispatch.

No sockets, no gunicorn, no wrk: each app is called as a WSGI callable with the same bodies, in
alternating blocks, so machine noise hits both alike. The request thread's CPU is the path itself;
the rest of the process's CPU in the same blocks is the project's background threads (the log
shipper publishing to RabbitMQ, the routing watcher). Needs `make bench` to have prepared the bench
services (two versions at 50/50). `python -m bench.inprocess [requests]`
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time

from bench.benchdb import BENCH_BROKER_URL, BENCH_REDIS_URL, bench_database_url
from bench.load import USERS
from webapp.cli.datasets import load_labelled_sets

BLOCK = 500


def _environs(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    texts = [item.text for items in load_labelled_sets().values() for item in items]
    environs = []
    for _ in range(count):
        body = json.dumps({"text": rng.choice(texts), "user_id": f"user-{rng.randrange(USERS)}"}).encode()
        environs.append(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/predict",
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8390",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_HOST": "127.0.0.1:8390",
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "body": body,
            }
        )
    return environs


def _call(app, environ: dict) -> None:
    environ = {**environ, "wsgi.input": io.BytesIO(environ["body"])}
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    if not statuses or not statuses[0].startswith("200"):
        raise SystemExit(f"/predict answered {statuses}")


def _block(app, environs: list[dict]) -> tuple[float, float]:
    thread, process = time.thread_time(), time.process_time()
    for environ in environs:
        _call(app, environ)
    return time.thread_time() - thread, time.process_time() - process


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    os.environ.update(DATABASE_URL=bench_database_url(), REDIS_URL=BENCH_REDIS_URL, CELERY_BROKER_URL=BENCH_BROKER_URL)
    from bench.floor_app import app as floor
    from webapp import create_app
    from webapp.config import Settings
    from wsgi import app as project

    apps = {"floor": floor, "project": project, "via-flask": create_app(Settings.from_env(PREDICT_FAST_PATH="false"))}
    environs = _environs(BLOCK)
    for app in apps.values():  # warm up
        _block(app, environs)
    spent = {name: [0.0, 0.0] for name in apps}
    for _ in range(requests // BLOCK):
        for name, app in apps.items():
            thread, process = _block(app, environs)
            spent[name][0] += thread
            spent[name][1] += process
    for app in (project, apps["via-flask"]):
        app.extensions["log_buffer"].close()
    done = (requests // BLOCK) * BLOCK
    print(f"{'CPU µs per request':<22}{'request thread':>16}{'other threads':>15}{'process':>10}")
    for name, (thread, process) in spent.items():
        other = process - thread
        print(f"{name:<22}{thread / done * 1e6:>16.1f}{other / done * 1e6:>15.1f}{process / done * 1e6:>10.1f}")
    for name in ("project", "via-flask"):
        print(f"{name}/floor, whole process: {spent[name][1] / spent['floor'][1]:.3f}")


if __name__ == "__main__":
    main()
