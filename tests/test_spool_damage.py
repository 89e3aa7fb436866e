"""The spool survives damage: an unreadable line is set aside and counted, every other batch ships.

Also its bounds (records and bytes: a batch past either is dropped whole and counted) and its
privacy (it holds raw texts and user ids: directories 0700, files 0600).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api import activate, predict, register
from tests.apps import make_settings, reset_state, shutdown
from tests.records import log_record
from tests.support import wait_for
from tests.test_log_pipeline import Broker, records
from tests.test_metrics import scrape, total
from webapp import create_app
from webapp.extensions import db
from webapp.feedback.models import Feedback
from webapp.logpipe.shipper import Shipper
from webapp.logpipe.spool import Spool, spool_backlog
from webapp.logpipe.wire import encode_feedback_batch, encode_log_batch
from webapp.metrics.instruments import stream_counts
from webapp.models import PredictionLog

DAMAGED_METRIC = "router_spool_damaged_lines_total"
# Writes each batch given as JSON to a spool under the directory, then exits: a web process that
# died with batches in its spool, whose files the next process claims.
WRITE_AND_DIE = (
    "import json, sys; from pathlib import Path; from webapp.logpipe.spool import Spool; "
    "spool = Spool(Path(sys.argv[1]), 10**6); "
    "[spool.write(batch, count) for count, batch in json.loads(sys.argv[2])]"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def spool_file(directory: Path) -> Path:
    [path] = directory.glob("*.jsonl")
    return path


def write_and_die(directory: Path, batches: list[tuple[int, object]]) -> None:
    subprocess.run([sys.executable, "-c", WRITE_AND_DIE, str(directory), json.dumps(batches)], check=True)


def test_garbage_between_good_lines_is_set_aside_and_every_other_batch_ships(tmp_path):
    batches = [records(3) for _ in range(4)]
    spool = Spool(tmp_path, max_records=1000)
    for batch in batches:
        spool.write(batch, len(batch))
    good = lines_of(spool.path)
    garbage = [b"not json at all\n", b'{"count": "3", "payload": []}\n', b"[1, 2, 3]\n", b"\xff\xfe\x00\n"]
    spool.path.write_bytes(
        b"".join([good[0], garbage[0], good[1], garbage[1], garbage[2], good[2], garbage[3], good[3]])
    )

    broker, counted_before = Broker(), stream_counts("test-garbage")["damaged_lines"]
    # The same process (pid) after a restart: it adopts the file.
    restarted = Spool(tmp_path, max_records=1000, stream="test-garbage")
    assert restarted.has_work() and restarted.pending == 12
    assert restarted.drain(broker.publish) == 12

    assert broker.batches == batches
    assert stream_counts("test-garbage")["damaged_lines"] - counted_before == 4
    assert lines_of(tmp_path / "damaged" / spool.path.name) == garbage
    assert list(tmp_path.glob("*.jsonl")) == [] and restarted.pending == restarted.pending_bytes == 0


def test_a_file_cut_mid_line_loses_only_that_batch_after_a_restart(tmp_path):
    first, second, third = records(2), records(3), records(4)
    spool = Spool(tmp_path, max_records=1000)
    spool.write(first, 2)
    spool.write(second, 3)
    whole = spool.path.read_bytes()
    torn_at = len(lines_of(spool.path)[0]) + 40  # in the middle of the second batch's line
    with spool.path.open("r+b") as cut:
        cut.truncate(torn_at)  # a crash, or a damaged disk

    counted_before = stream_counts("test-cut")["damaged_lines"]
    restarted = Spool(tmp_path, max_records=1000, stream="test-cut")  # a new process of the same pid appends to it
    restarted.write(third, 4)
    broker = Broker()
    assert restarted.drain(broker.publish) == 6

    assert broker.batches == [first, third]
    [kept] = lines_of(tmp_path / "damaged" / spool.path.name)
    assert kept == whole[torn_at - 40 : torn_at] + b"\n"  # the second batch's first 40 bytes
    assert stream_counts("test-cut")["damaged_lines"] - counted_before == 1


def test_a_whole_batch_glued_to_a_torn_one_is_recovered(tmp_path):
    first, second, third = records(2), records(3), records(4)
    spool = Spool(tmp_path, max_records=1000)
    for batch in (first, second, third):
        spool.write(batch, len(batch))
    one, two, three = lines_of(spool.path)
    torn = two[: len(two) // 2]
    spool.path.write_bytes(one + torn + three)  # no newline between: the torn line and the next are one line
    broker, counted_before = Broker(), stream_counts("test-glued")["damaged_lines"]
    restarted = Spool(tmp_path, max_records=1000, stream="test-glued")
    restarted.drain(broker.publish)
    assert broker.batches == [first, third]
    assert lines_of(tmp_path / "damaged" / spool.path.name) == [torn + b"\n"]
    assert stream_counts("test-glued")["damaged_lines"] - counted_before == 1  # router_spool_damaged_lines_total


def test_a_torn_last_line_of_a_dead_process_is_set_aside_and_the_rest_ships(tmp_path):
    batches = [records(2), records(3)]
    write_and_die(tmp_path, [(len(batch), batch) for batch in batches])
    orphan = spool_file(tmp_path)
    with orphan.open("ab") as spool_out:
        spool_out.write(b'{"count":5,"payload":[{"prediction_id":"half-writ')  # killed mid-write
    broker, counted_before = Broker(), stream_counts("test-dead-torn")["damaged_lines"]
    spool = Spool(tmp_path, max_records=1000, stream="test-dead-torn")
    assert spool.has_work()
    assert spool.drain(broker.publish) == 5
    assert broker.batches == batches
    [damaged_file] = (tmp_path / "damaged").glob("*.jsonl")
    assert damaged_file.read_bytes() == b'{"count":5,"payload":[{"prediction_id":"half-writ\n'
    assert stream_counts("test-dead-torn")["damaged_lines"] - counted_before == 1
    assert list(tmp_path.glob("*.jsonl")) == []


def test_a_batch_past_the_byte_bound_is_dropped_whole_and_counted(tmp_path, caplog):
    broker = Broker()
    broker.up = False
    small, large = records(1), [log_record(str(uuid.uuid4()), text="x" * 2000) for _ in range(3)]
    line_bytes = len(json.dumps({"count": 1, "payload": small}, separators=(",", ":"))) + 1
    spool = Spool(tmp_path, max_records=1000, max_bytes=line_bytes * 3, stream="test-byte-bound")
    shipper = Shipper(broker.publish, spool, stream="test-byte-bound")
    before = stream_counts("test-byte-bound")
    shipper.ship(small)
    shipper.ship(large)  # 3 records, far under the record bound, but over the bytes
    shipper.ship(small)
    shipper.ship(small)
    shipper.ship(small)  # the fourth small one would pass the bound by one line

    after = stream_counts("test-byte-bound")
    assert (after["spooled"] - before["spooled"], after["dropped"] - before["dropped"]) == (3, 4)
    assert spool.pending_bytes == spool.path.stat().st_size == line_bytes * 3
    assert f"log spool full ({line_bytes * 3} bytes): dropped 3" in caplog.text
    broker.up = True
    assert spool.drain(broker.publish) == 3 and broker.batches == [small] * 3


def test_the_byte_bound_counts_files_left_before_a_restart(tmp_path):
    spool = Spool(tmp_path, max_records=1000, max_bytes=10_000)
    spool.write(records(10), 10)
    left = spool.path.stat().st_size
    restarted = Spool(tmp_path, max_records=1000, max_bytes=left + 100)
    assert restarted.pending_bytes == left and restarted.pending == 10
    assert restarted.write(records(10), 10) == 10  # would pass the bound together with what was left
    assert restarted.write(records(0), 0) == 0


def test_spool_files_are_0600_and_directories_0700_whatever_the_umask(tmp_path):
    old_directory, directory = tmp_path / "old", tmp_path / "spool"
    old_directory.mkdir(mode=0o755)
    older_file = old_directory / Spool(old_directory, 10).path.name
    older_file.write_text(json.dumps({"count": 1, "payload": records(1)}) + "\n")
    older_file.chmod(0o644)  # as earlier versions left them
    previous = os.umask(0)
    try:
        spool = Spool(directory, max_records=1000)
        spool.write(records(2), 2)
        Spool(old_directory, max_records=1000).write(records(2), 2)
        spool.path.write_bytes(spool.path.read_bytes() + b"garbage\n")
        spool.drain(Broker().publish)
        spool.write(records(2), 2)
    finally:
        os.umask(previous)
    assert mode(directory) == mode(old_directory) == 0o700
    assert mode(spool.path) == mode(older_file) == 0o600
    assert mode(directory / "damaged") == 0o700
    assert mode(directory / "damaged" / spool.path.name) == 0o600


def stored_prediction_ids(app, ids: list[str]) -> set[str]:
    with app.app_context():
        wanted = [uuid.UUID(pid) for pid in ids]
        found = db.session.scalars(select(PredictionLog.prediction_id).where(PredictionLog.prediction_id.in_(wanted)))
        return {str(pid) for pid in found}


def stored_feedback_ids(app, ids: list[str]) -> set[str]:
    with app.app_context():
        wanted = [uuid.UUID(pid) for pid in ids]
        found = db.session.scalars(select(Feedback.prediction_id).where(Feedback.prediction_id.in_(wanted)))
        return {str(pid) for pid in found}


def components(client) -> dict:
    body = client.get("/health").get_json()
    return body["components"] if "components" in body else body["error"]["details"]["components"]


def feedback(count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [{"prediction_id": str(uuid.uuid4()), "label": "positive", "reward": None, "received_at": now}] * count


@pytest.mark.slow
def test_a_new_app_ships_every_batch_a_dead_one_left_around_damaged_lines(app, client, celery_worker):
    """Through RabbitMQ and a real worker into Postgres; the count in /health and /metrics."""
    spool_dir = app.extensions["spool_dir"]
    model_id = register(client)["model_id"]
    activate(client, model_id, 100)
    logs = [[log_record(model_id) for _ in range(size)] for size in (3, 4, 5, 6)]
    write_and_die(spool_dir, [(len(batch), encode_log_batch(batch)) for batch in logs])
    fed = [feedback(1), feedback(1)]
    write_and_die(spool_dir / "feedback", [(1, encode_feedback_batch(batch)) for batch in fed])

    # The prediction logs: a garbage line after the first batch, the third cut in the middle and the
    # fourth glued to it, and a line of the wrong shape; the feedback: a garbage line between its two.
    log_file = spool_file(spool_dir)
    one, two, three, four = lines_of(log_file)
    log_file.write_bytes(one + b"}{ not json\n" + two + three[:100] + four + b'{"count":1}\n')
    feedback_file = spool_file(spool_dir / "feedback")
    first, second = lines_of(feedback_file)
    feedback_file.write_bytes(first + b"\x00\x00\x00\n" + second)
    metrics_before, health_before = scrape(client), components(client)

    # The new app's shipping threads start with its first records, then claim and drain the dead one's files.
    answered = predict(client)["prediction_id"]
    assert client.post("/feedback", json={"prediction_id": answered, "label": "positive"}).status_code == 202
    shipped = [record["prediction_id"] for batch in (logs[0], logs[1], logs[3]) for record in batch] + [answered]
    wait_for(lambda: stored_prediction_ids(app, shipped) == set(shipped), timeout=30, what="the readable batches")
    fed_ids = [row["prediction_id"] for batch in fed for row in batch] + [answered]
    wait_for(lambda: stored_feedback_ids(app, fed_ids) == set(fed_ids), timeout=30, what="the feedback")
    assert stored_prediction_ids(app, [record["prediction_id"] for record in logs[2]]) == set()

    damaged = spool_dir / "damaged" / f"{socket.gethostname()}-{os.getpid()}-claimed-{log_file.name}"
    assert lines_of(damaged) == [b"}{ not json\n", three[:100] + b"\n", b'{"count":1}\n']

    def damaged_lines(health: dict, stream: str) -> int:
        return (
            health[stream]["all_processes"]["damaged_lines"] - health_before[stream]["all_processes"]["damaged_lines"]
        )

    health = wait_for(
        lambda: damaged_lines(now := components(client), "feedback") and now,
        timeout=5,
        what="the damaged lines in /health",
    )
    logs_health, feedback_health = health["prediction_logs"], health["feedback"]
    # The counts are Prometheus' (this test process's, since it started): what this test added is the growth.
    assert damaged_lines(health, "prediction_logs") == 3 and damaged_lines(health, "feedback") == 1
    assert logs_health["spool_backlog"]["damaged_lines"] == logs_health["all_processes"]["damaged_lines"]
    assert logs_health["spool_backlog"]["damaged_bytes"] == damaged.stat().st_size
    assert logs_health["spool_backlog"]["files"] == 0
    assert feedback_health["spool_backlog"]["damaged_lines"] == feedback_health["all_processes"]["damaged_lines"]
    metrics_after = scrape(client)
    for stream, lines in (("prediction_logs", 3), ("feedback", 1)):
        grew = total(metrics_after, DAMAGED_METRIC, stream=stream) - total(
            metrics_before, DAMAGED_METRIC, stream=stream
        )
        assert grew == lines, stream


def test_an_app_spools_under_its_byte_bound_setting(postgres_url, redis_url, tmp_path):
    dead_broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "BROKER_TIMEOUT_SECONDS": 0.1}
    app = create_app(
        make_settings(
            tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, SPOOL_MAX_BYTES=1, LOG_FLUSH_SECONDS=3600,
            **dead_broker,
        )
    )  # fmt: skip
    reset_state(app)
    try:
        client = app.test_client()
        activate(client, register(client)["model_id"], 100)
        dropped_before = stream_counts("prediction_logs")["dropped"]
        predict(client)
        app.extensions["log_buffer"].flush()
        assert stream_counts("prediction_logs")["dropped"] - dropped_before == 1
        assert spool_backlog(app.extensions["spool_dir"])["files"] == 0
    finally:
        shutdown(app)
