"""Clients that trickle a request body, against the repository's nginx config (deploy/nginx.conf).

gunicorn's sync workers each serve one connection at a time: a client sending its body at 1 byte/s
holds a worker until gunicorn's 30 s timeout, and two such clients stall the whole web tier. nginx in
front reads every request whole before it reaches gunicorn. These tests run Debian's nginx in the
foreground with the repository's config (only its upstream and listen lines changed) in front of a
real gunicorn (the repository's gunicorn.conf.py, 2 sync workers).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_client import reachable
from tests.support import ROOT, GunicornServer, ManagedProcess, free_port, new_vhost, unavailable, wait_for
from tests.traffic import TEXTS, start_two_versions
from webapp.config import Settings
from webapp.feedback.views import MAX_FEEDBACK_BODY_BYTES
from webapp.http import MAX_BODY_BYTES

pytestmark = pytest.mark.slow

CONFIG = ROOT / "deploy" / "nginx.conf"
UPSTREAM_LINE, LISTEN_LINE = "server web:8000;", "listen 8000;"
TRICKLERS = 20
SAMPLES = 200


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        unavailable("nginx (Debian's /usr/sbin/nginx, not installed)", "apt-get install -y nginx")
    return found


class Nginx(ManagedProcess):
    """nginx in the foreground on a spare 127.0.0.1 port: the repository's server block inside an `http { }`
    like the official image's, its pid, logs and temporary files in a directory of its own."""

    ready_marker = "start worker process"

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Not under pytest's tmp_path (private to root): the worker processes run as nobody when root starts nginx.
        directory = self.directory = Path(tempfile.mkdtemp(prefix="model-router-nginx-"))
        directory.chmod(0o755)
        config = CONFIG.read_text()
        for line, replacement in (
            (UPSTREAM_LINE, f"server 127.0.0.1:{upstream_port};"),
            (LISTEN_LINE, f"listen 127.0.0.1:{self.port};"),
        ):
            assert config.count(line) == 1, f"{CONFIG.name} should say {line!r} once"
            config = config.replace(line, replacement)
        (directory / "router.conf").write_text(config)
        temp_paths = "\n".join(
            f"    {kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (directory / "nginx.conf").write_text(
            f"daemon off;\n"
            f"worker_processes 1;\n"
            f"pid {directory / 'nginx.pid'};\n"
            f"error_log stderr notice;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n"
            f"    default_type application/octet-stream;\n"
            f"    sendfile on;\n"
            f"    keepalive_timeout 65;\n"  # the image's http block sets it: the server block may only override it
            f"{temp_paths}\n"
            f"    include {directory / 'router.conf'};\n"
            f"}}\n"
        )
        super().__init__(
            [nginx_binary(), "-e", "stderr", "-p", str(directory), "-c", str(directory / "nginx.conf")], {}, "nginx"
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def web(postgres_url, redis_url, broker_url, app, tmp_path: Path) -> Iterator[GunicornServer]:
    """gunicorn with 2 sync workers on emptied tables, sentiment 1.0.0 and 2.0.0 active 50/50."""
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": new_vhost(broker_url, "slow-clients"),  # its log batches wait there, apart
        "INSTANCE_DIR": str(tmp_path),
    }
    server = GunicornServer(env, free_port(), workers=2)
    server.start()
    try:
        wait_for(lambda: reachable(server.url), timeout=30, what="gunicorn")
        start_two_versions(server.url)
        yield server
    finally:
        server.stop()


def start_nginx(upstream_port: int) -> Nginx:
    nginx = Nginx(upstream_port)
    try:
        nginx.start(timeout=20)
    except BaseException:
        shutil.rmtree(nginx.directory, ignore_errors=True)
        raise
    return nginx


@pytest.fixture
def proxy(web: GunicornServer) -> Iterator[Nginx]:
    nginx = start_nginx(web.port)
    yield nginx
    nginx.remove()


def post(port: int, path: str, body: bytes, timeout: float = 5.0) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def predict_latencies(port: int, count: int) -> list[float]:
    """Seconds per /predict, `count` in a row, each on a new connection; every one must be answered 200."""
    seconds = []
    for number in range(count):
        body = json.dumps({"text": TEXTS[number % len(TEXTS)], "user_id": f"user-{number}"}).encode()
        started = time.perf_counter()
        status, answer = post(port, "/predict", body)
        seconds.append(time.perf_counter() - started)
        assert status == 200, (number, status, answer)
    return seconds


def p99(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=100)[98]


class Tricklers:
    """`count` connections that send a /predict's headers (Content-Length: 1000), then its body at 1 byte/s."""

    def __init__(self, port: int, count: int = TRICKLERS) -> None:
        self.port, self.count = port, count
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> Tricklers:
        head = (
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(head)
            self.sockets.append(sock)
        self._thread.start()
        return self

    def _trickle(self) -> None:
        while not self._stop.wait(1.0):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the server gave up on it: still_waiting() tells
                    sock.send(b" ")

    def still_waiting(self) -> int:
        """How many connections are open with no answer yet."""
        waiting = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)  # data or EOF: the server answered or hung up
            except BlockingIOError:
                waiting += 1
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return waiting

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def test_through_the_proxy_trickling_clients_cost_other_clients_nothing(web, proxy):
    predict_latencies(proxy.port, 20)  # both workers warm
    baseline = p99(predict_latencies(proxy.port, SAMPLES))
    with Tricklers(proxy.port) as tricklers:
        time.sleep(1.5)  # every trickler's headers are in and a byte or two of its body
        started = time.monotonic()
        under_trickle = p99(predict_latencies(proxy.port, SAMPLES))
        measured_for = time.monotonic() - started
        # All 20 were still sending (held by nginx, not by a gunicorn worker) for the whole measurement.
        assert tricklers.still_waiting() == TRICKLERS
    bound = max(5 * baseline, baseline + 0.050)
    print(
        f"/predict p99 through nginx: {baseline * 1000:.1f} ms alone, {under_trickle * 1000:.1f} ms with "
        f"{TRICKLERS} clients trickling ({SAMPLES} requests in {measured_for:.1f} s each time)"
    )
    assert under_trickle <= bound, f"p99 {under_trickle * 1000:.1f} ms > {bound * 1000:.1f} ms"


def test_straight_at_gunicorn_trickling_clients_stall_everyone(web):
    """What the proxy removes, and proof that the test above can fail: both sync workers held."""
    predict_latencies(web.port, 20)
    body = json.dumps({"text": TEXTS[0], "user_id": "user-1"}).encode()
    with Tricklers(web.port) as tricklers:
        time.sleep(1.0)  # each worker has taken a trickler and waits for its body
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            post(web.port, "/predict", body, timeout=2.0)
        waited = time.perf_counter() - started
        assert tricklers.still_waiting() == TRICKLERS
    print(f"/predict straight at gunicorn with {TRICKLERS} clients trickling: no answer in {waited:.1f} s")
    # Once the tricklers hang up, the workers serve again.
    wait_for(lambda: post(web.port, "/predict", body)[0] == 200, timeout=20, what="gunicorn to answer again")


def test_the_proxy_answers_its_own_errors_as_json():
    """Body caps (the service's own: 64 KB, 256 KB for POST /feedback, 64 MiB for a model file) and an unreachable
    service."""
    nginx = start_nginx(upstream_port=free_port())  # nothing listens there
    try:
        for path, limit in (("/predict", MAX_BODY_BYTES), ("/feedback", MAX_FEEDBACK_BODY_BYTES)):
            status, answer = post(nginx.port, path, b" " * (limit + 1))
            assert (status, answer["error"]["code"]) == (413, "payload_too_large"), path
            assert f"{limit // 1024} KB" in answer["error"]["message"]
            # Up to the cap, the request goes on to the service, which is down.
            status, answer = post(nginx.port, path, b" " * limit)
            assert (status, answer["error"]["code"]) == (502, "service_unreachable"), path
            assert answer["error"]["message"] == "The service could not be reached; retry shortly."
        # A model file may be up to ARTIFACT_MAX_BYTES, and no more.
        limit, path = Settings.from_env({}).artifact_max_bytes, f"/models/{uuid.uuid4()}/artifact"
        status, answer = post(nginx.port, path, b"\0" * (limit + 1))
        assert (status, answer["error"]["code"]) == (413, "payload_too_large")
        assert f"{limit // 2**20} MiB for a model file" in answer["error"]["message"]
        assert post(nginx.port, path, b"\0" * limit)[0] == 502
    finally:
        nginx.remove()
