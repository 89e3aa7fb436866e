"""The whole experiment on human-rated data: replayed as HTTP traffic through gunicorn, a real Celery
worker and Postgres, with feedback; the service must reach the same verdict the data holds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.http_client import call, reachable
from tests.support import ROOT, GunicornServer, free_port, wait_for
from webapp.cli.datasets import find_data_dir, load_labelled_sets
from webapp.cli.replay_traffic import Client, ReplayPlan, replay, setup_fifty_fifty

pytestmark = pytest.mark.slow

RATE = 600  # requests per second: the whole 7,908 texts in about 15 s


@pytest.fixture
def service(app, celery_worker, worker_env):
    """gunicorn (2 workers) on the emptied test database, writing through the session's Celery worker."""
    server = GunicornServer(worker_env, free_port(), workers=2)
    server.start()
    wait_for(lambda: reachable(server.url), timeout=30, what="gunicorn")
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def texts():
    sets = load_labelled_sets()
    return sets["amazon"] + sets["tweets"]


def test_replaying_both_dev_sets_names_2_0_0_the_winner_on_accuracy(service, texts):
    assert len(texts) == 7908
    setup_fifty_fifty(Client(service, None), "sentiment")
    result = replay(texts, ReplayPlan(url=service, rate=RATE, users=2000, feedback=True))
    assert not result.errors and sum(result.served.values()) == 7908
    report = result.experiment
    arms = {arm["model_version"]: arm for arm in report["arms"]}
    for version in ("1.0.0", "2.0.0"):
        arm = arms[version]
        assert arm["labelled_count"] == arm["request_count"] == result.served[version]
        assert arm["correct_count"] == result.correct[version]
        assert arm["accuracy"] == pytest.approx(result.accuracy(version), abs=1e-6)
    assert report["srm"]["mismatch"] is False
    decision = report["decision"]
    assert (decision["status"], decision["metric"], decision["winner"]) == ("winner", "accuracy", "2.0.0"), decision


def test_a_split_change_halfway_through_a_replay_raises_no_false_srm(service, texts):
    client = Client(service, None)
    setup_fifty_fifty(client, "sentiment")
    plan = ReplayPlan(url=service, rate=RATE, users=2000, feedback=False)
    first = replay(texts[:3000], plan)
    ids = {entry["version"]: entry["model_id"] for entry in call(service, "GET", "/models?name=sentiment")[1]}
    assert call(service, "POST", f"/models/{ids['1.0.0']}/activate", {"percent": 20})[0] == 200
    assert call(service, "POST", f"/models/{ids['2.0.0']}/activate", {"percent": 80})[0] == 200
    second = replay(texts[3000:6000], plan)
    srm = second.experiment["srm"]
    assert srm["mismatch"] is False, srm
    assert sum(srm["observed"].values()) < 2000  # sticky users seen in the new epoch only
    share = srm["observed"]["2.0.0"] / sum(srm["observed"].values())
    assert 0.75 < share < 0.85
    assert first.experiment["srm"]["epoch"] != srm["epoch"]


def test_the_replay_command_prints_what_it_counted_and_the_decision(service, worker_env, tmp_path):
    amazon = sorted(find_data_dir().glob("amazon*_GroundTruth.tsv"))[0]
    sample = tmp_path / "sample_GroundTruth.tsv"
    sample.write_text("".join(amazon.read_text(encoding="utf-8").splitlines(keepends=True)[:300]), encoding="utf-8")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "replay", str(sample), "--url", service, "--setup",
               "--feedback", "--rate", "300", "--users", "100", "--wait", "60"]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **worker_env}, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "replayed 300 texts" in run.stdout and "feedback sent: 300" in run.stdout
    assert "decision: " in run.stdout
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(("1.0.0", "2.0.0"))]
    assert sum(int(row[1]) for row in rows) == 300
    assert all(row[3] == row[4] for row in rows)  # the service's accuracy equals the replay's own count


def test_a_replay_of_v2_against_vader_names_the_more_accurate_one(service, texts):
    for version, algorithm in (("2.0.0", "textblob-advanced"), ("3.0.0", "vader")):
        registration = {"name": "sentiment", "version": version, "algorithm": algorithm}
        status, body = call(service, "POST", "/models", registration)
        assert status == 201, body
    status, body = call(service, "PUT", "/models/sentiment/split", {"weights": {"2.0.0": 50, "3.0.0": 50}})
    assert status == 200, body
    result = replay(texts, ReplayPlan(url=service, rate=RATE, users=2000, feedback=True))
    assert not result.errors and sum(result.served.values()) == 7908
    more_accurate = max(("2.0.0", "3.0.0"), key=result.accuracy)  # as the replay itself counted
    decision = result.experiment["decision"]
    assert (decision["status"], decision["metric"], decision["winner"]) == ("winner", "accuracy", more_accurate), (
        decision,
        {version: result.accuracy(version) for version in ("2.0.0", "3.0.0")},
    )
