"""Replays human-rated texts as real HTTP traffic and lets the service decide the experiment.

Each text goes to POST /predict with a user id (drawn from `users` ids), at a steady `rate` from a
few client threads. With feedback on, every answered prediction's human label goes to POST
/feedback in batches. The replay counts correct answers per version itself, asks for a stats
refresh, waits until the service has counted all its feedback, and returns the experiment report.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .datasets import LabelledText

FEEDBACK_BATCH = 500
FEEDBACK_INTERVAL_SECONDS = 0.5


class ReplayError(RuntimeError):
    """The service answered something the replay cannot go on from."""


@dataclass(frozen=True)
class ReplayPlan:
    url: str = "http://127.0.0.1:8000"
    model: str = "sentiment"
    rate: float = 300.0
    users: int = 2000
    feedback: bool = True
    threads: int = 8
    seed: int = 0
    api_key: str | None = None
    wait_seconds: float = 120.0


@dataclass
class ReplayResult:
    served: Counter = field(default_factory=Counter)  # predictions per version
    correct: Counter = field(default_factory=Counter)  # correct predictions per version
    errors: Counter = field(default_factory=Counter)  # failed requests per status
    feedback_sent: int = 0
    seconds: float = 0.0
    experiment: dict[str, Any] | None = None
    # What the service had counted per version before this replay: (requests, labelled).
    counted_before: dict[str, tuple[int, int]] = field(default_factory=dict)

    def accuracy(self, version: str) -> float:
        """The fraction of this version's answers that matched the human label, as the replay counted."""
        return self.correct[version] / self.served[version]


class Client:
    """JSON over one keep-alive HTTP connection per thread."""

    def __init__(self, url: str, api_key: str | None) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = {"Content-Type": "application/json", **({"X-API-Key": api_key} if api_key else {})}
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers=self._headers)
                response = connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (http.client.HTTPException, ConnectionError):
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "connection", None) is None:
            self._local.connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
        return self._local.connection


def replay(
    texts: list[LabelledText], plan: ReplayPlan, progress: Callable[[int], None] = lambda _: None
) -> ReplayResult:
    """Send every text, post the labels, wait for the service to count them; the report is in `.experiment`."""
    client, result = Client(plan.url, plan.api_key), ReplayResult()
    rng = random.Random(plan.seed)
    users = [f"replay-user-{rng.randrange(plan.users)}" for _ in texts]
    answers: queue.Queue = queue.Queue()
    result.counted_before = counted_so_far(client, plan.model)
    started = time.monotonic()
    shipper = FeedbackShipper(client, answers, result) if plan.feedback else None
    if shipper:
        shipper.start()
    _send_predictions(client, texts, users, plan, answers, result, progress)
    if shipper:
        shipper.finish()
    result.seconds = round(time.monotonic() - started, 2)
    result.experiment = wait_for_experiment(client, plan, result)
    return result


def _send_predictions(client, texts, users, plan, answers, result, progress) -> None:
    """Threads take the next text at its slot in a steady schedule of `rate` per second."""
    next_index, lock, start = iter(range(len(texts))), threading.Lock(), time.monotonic()

    def work() -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            time.sleep(max(0.0, start + index / plan.rate - time.monotonic()))
            text = texts[index]
            status, body = client.call(
                "POST", "/predict", {"text": text.text, "user_id": users[index], "model": plan.model}
            )
            with lock:
                if status != 200:
                    result.errors[status] += 1
                    continue
                version = body["model_version"]
                result.served[version] += 1
                result.correct[version] += body["prediction"] == text.label
            answers.put({"prediction_id": body["prediction_id"], "label": text.label})

    threads = [threading.Thread(target=work, daemon=True) for _ in range(plan.threads)]
    for thread in threads:
        thread.start()
    done = 0
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.2)
        total = sum(result.served.values()) + sum(result.errors.values())
        progress(total - done)
        done = total
    progress(len(texts) - done)


class FeedbackShipper(threading.Thread):
    """Posts the human labels of answered predictions in batches, as a labelling client would."""

    def __init__(self, client: Client, answers: queue.Queue, result: ReplayResult) -> None:
        super().__init__(daemon=True, name="replay-feedback")
        self._client, self._answers, self._result = client, answers, result
        self._done = threading.Event()
        self.failure: str | None = None

    def run(self) -> None:
        while not (self._done.is_set() and self._answers.empty()):
            batch = self._take(FEEDBACK_BATCH)
            if batch:
                status, body = self._client.call("POST", "/feedback", batch)
                if status != 202:
                    self.failure = f"POST /feedback answered {status}: {body}"
                    return
                self._result.feedback_sent += body["accepted"]

    def finish(self) -> None:
        self._done.set()
        self.join()
        if self.failure:
            raise ReplayError(self.failure)

    def _take(self, limit: int) -> list[dict]:
        batch, deadline = [], time.monotonic() + FEEDBACK_INTERVAL_SECONDS
        while len(batch) < limit and time.monotonic() < deadline:
            try:
                batch.append(self._answers.get(timeout=0.05))
            except queue.Empty:
                if self._done.is_set():
                    break
        return batch


def wait_for_experiment(client: Client, plan: ReplayPlan, result: ReplayResult) -> dict[str, Any]:
    """Ask for stats refreshes until the service counts at least what the replay sent, then return the report."""
    deadline = time.monotonic() + plan.wait_seconds
    while True:
        status, body = client.call("POST", "/models/stats/refresh")
        if status != 202:
            raise ReplayError(f"POST /models/stats/refresh answered {status}: {body}")
        time.sleep(1.0)
        status, report = client.call("GET", f"/experiments/{plan.model}")
        if status != 200:
            raise ReplayError(f"GET /experiments/{plan.model} answered {status}: {report}")
        if _caught_up(report, result, plan.feedback) or time.monotonic() > deadline:
            return report


def counted_so_far(client: Client, model: str) -> dict[str, tuple[int, int]]:
    """Per version, the requests and labels the service has counted (none before a first experiment)."""
    status, report = client.call("GET", f"/experiments/{model}")
    if status != 200:
        return {}
    return {arm["model_version"]: (arm["request_count"], arm["labelled_count"]) for arm in report["arms"]}


def _caught_up(report: dict[str, Any], result: ReplayResult, feedback: bool) -> bool:
    # Against what was counted before this replay: a second replay on the same versions waits for its own.
    counted = {arm["model_version"]: arm for arm in report["arms"]}
    for version, served in result.served.items():
        arm = counted.get(version)
        requests_before, labelled_before = result.counted_before.get(version, (0, 0))
        if arm is None or arm["request_count"] - requests_before < served:
            return False
        if feedback and arm["labelled_count"] - labelled_before < served:
            return False
    return True


def setup_fifty_fifty(client: Client, model: str) -> None:
    """Register `model` 1.0.0 (textblob-basic) and 2.0.0 (textblob-advanced) if needed, at 50/50."""
    for version in ("1.0.0", "2.0.0"):
        status, body = client.call("POST", "/models", {"name": model, "version": version})
        if status not in (201, 409):
            raise ReplayError(f"registering {model} {version} answered {status}: {body}")
    status, body = client.call("GET", f"/models?name={model}")
    ids = {entry["version"]: entry["model_id"] for entry in body}
    for version in ("1.0.0", "2.0.0"):  # deactivate first: the other one may hold more than 50%
        client.call("POST", f"/models/{ids[version]}/deactivate")
    for version in ("1.0.0", "2.0.0"):
        status, body = client.call("POST", f"/models/{ids[version]}/activate", {"percent": 50})
        if status != 200:
            raise ReplayError(f"activating {model} {version} answered {status}: {body}")


def summary(result: ReplayResult) -> list[str]:
    """What the replay counted, what the service says, and the decision, as printable lines."""
    lines = [
        f"replayed {sum(result.served.values())} texts in {result.seconds} s; feedback sent: {result.feedback_sent}"
    ]
    if result.errors:
        lines.append(f"failed requests by status: {dict(result.errors)}")
    arms = {arm["model_version"]: arm for arm in (result.experiment or {}).get("arms", [])}
    lines.append(f"{'version':10} {'served':>7} {'correct':>8} {'replay acc':>11} {'service acc':>12}  95% CI")
    for version in sorted(result.served):
        arm = arms.get(version, {})
        ci = arm.get("accuracy_ci")
        lines.append(
            f"{version:10} {result.served[version]:7d} {result.correct[version]:8d} {result.accuracy(version):11.4f} "
            f"{arm.get('accuracy') or float('nan'):12.4f}  {ci}"
        )
    if result.experiment:
        srm, decision = result.experiment["srm"], result.experiment["decision"]
        lines.append(f"SRM: p = {srm['p_value']}, mismatch: {srm['mismatch']}, observed {srm['observed']}")
        lines.append(f"decision: {decision['status']}, winner: {decision['winner']}")
        lines.append(f"  {decision['reason']}")
    return lines
