"""Steady /predict traffic from client threads, every answer recorded, for fault tests.

A fault test needs to know exactly which predictions the service answered (and when), so that
it can look for each one in Postgres afterwards.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg2

from tests.http_client import call

TEXTS = (
    "I love this, it works perfectly.",
    "Terrible service, never again.",
    "The parcel arrived on Tuesday.",
    "Not bad at all, quite pleasant really.",
)


@dataclass(frozen=True)
class Answer:
    sent_at: float  # time.monotonic()
    answered_at: float
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    prediction_id: str | None


class PredictTraffic:
    """`clients` threads posting /predict back to back until `stop()`; a context manager."""

    def __init__(self, base_url: str, clients: int = 4, users: int = 500, timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname, parts.port
        self._clients, self._users, self._timeout = clients, users, timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.answers: list[Answer] = []

    def __enter__(self) -> PredictTraffic:
        for number in range(self._clients):
            thread = threading.Thread(target=self._client, args=(random.Random(number),), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self._timeout + 5)

    def answered_ids(self) -> set[str]:
        """Prediction ids of every request answered 200."""
        return {answer.prediction_id for answer in self.answers if answer.status == 200}

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.sent_at < end]

    def _client(self, rng: random.Random) -> None:
        while not self._stop.is_set():
            body = json.dumps({"text": rng.choice(TEXTS), "user_id": f"user-{rng.randrange(self._users)}"})
            sent_at = time.monotonic()
            status, prediction_id = self._post(body)
            with self._lock:
                self.answers.append(Answer(sent_at, time.monotonic(), status, prediction_id))
            if status is None:
                time.sleep(0.05)  # a refused connection returns at once; do not spin

    def _post(self, body: str) -> tuple[int | None, str | None]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = json.loads(response.read() or b"null")
        except (OSError, http.client.HTTPException, ValueError):
            return None, None
        finally:
            connection.close()
        prediction_id = payload.get("prediction_id") if response.status == 200 else None
        return response.status, prediction_id


def start_two_versions(base_url: str) -> None:
    """Register sentiment 1.0.0 and 2.0.0 over HTTP and split traffic 50/50."""
    for version in ("1.0.0", "2.0.0"):
        status, body = call(base_url, "POST", "/models", {"name": "sentiment", "version": version})
        assert status == 201, body
        status, body = call(base_url, "POST", f"/models/{body['model_id']}/activate", {"percent": 50})
        assert status == 200, body


def stored_prediction_ids(database_url: str, prediction_ids: set[str]) -> set[str]:
    """Those of `prediction_ids` that are in prediction_logs (where prediction_id is unique)."""
    connection = psycopg2.connect(database_url, connect_timeout=3)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT prediction_id::text FROM prediction_logs WHERE prediction_id = ANY(%s::uuid[])",
                (list(prediction_ids),),
            )
            return {row[0] for row in cursor}
    finally:
        connection.close()


def missing_after(database_url: str, prediction_ids: set[str], timeout: float) -> set[str]:
    """The ids still not in prediction_logs after polling for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        missing = prediction_ids - stored_prediction_ids(database_url, prediction_ids)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def stored_for_model(database_url: str, model_id: str) -> tuple[int, int]:
    """(rows, distinct prediction ids) stored for one model, read outside the app."""
    connection = psycopg2.connect(database_url, connect_timeout=3)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT prediction_id) FROM prediction_logs WHERE model_id = %s", (model_id,)
            )
            return cursor.fetchone()
    finally:
        connection.close()


def sessions_where(database_url: str, condition: str) -> int:
    """How many sessions on this test database `pg_stat_activity` shows matching `condition` (a fresh
    connection each time: a transaction's own view of activity would not change)."""
    connection = psycopg2.connect(database_url, connect_timeout=3)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND ({condition})"
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()
