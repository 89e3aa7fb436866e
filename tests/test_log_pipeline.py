"""The log pipeline from the request thread to the broker: batching, spooling, nothing lost silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import timeit

import pytest
from celery import Celery

import celeryconfig
from tests.apps import make_settings
from tests.records import log_record
from webapp.config import ConfigError, Settings
from webapp.logpipe.buffer import LogBuffer
from webapp.logpipe.publisher import BrokerUnavailable, CeleryPublisher
from webapp.logpipe.shipper import Shipper
from webapp.logpipe.spool import Spool
from webapp.logpipe.streams import Stream, shipping_buffer
from webapp.logpipe.wire import PREDICTION_LOGS, encode_log_batch, encode_log_rows, log_row
from webapp.metrics.instruments import stream_counts
from webapp.tasks import RETRY_WRITES


class Broker:
    """Stands in for the broker's availability only; what it accepts is what the spool must deliver."""

    def __init__(self) -> None:
        self.up = True
        self.batches: list[list[dict]] = []

    def publish(self, batch: list[dict]) -> None:
        if not self.up:
            raise BrokerUnavailable("down")
        self.batches.append(list(batch))

    @property
    def ids(self) -> list[str]:
        return [record["prediction_id"] for batch in self.batches for record in batch]


def records(count: int) -> list[dict]:
    return [log_record("00000000-0000-0000-0000-000000000001") for _ in range(count)]


def spooled(spool: Spool, batch: list[dict]) -> int:
    return spool.write(batch, len(batch))


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What a test added to a stream's Prometheus counts (they live as long as the test process)."""
    return {state: after[state] - before[state] for state in ("published", "spooled", "respooled_published", "dropped")}


def test_spool_keeps_batches_whole_until_they_are_published_in_order(tmp_path):
    spool, broker = Spool(tmp_path, max_records=1000), Broker()
    batches = [records(100), records(100), records(50)]
    assert [spooled(spool, batch) for batch in batches] == [0, 0, 0]
    assert spool.drain(broker.publish) == 250
    assert broker.batches == batches  # the same batches: a re-sent batch keeps its id
    assert spool.pending == 0 and list(tmp_path.glob("*.jsonl")) == []


def test_a_batch_beyond_the_spool_bound_is_dropped_whole_and_counted(tmp_path):
    spool = Spool(tmp_path, max_records=100)
    assert spooled(spool, records(80)) == 0
    assert spooled(spool, records(50)) == 50
    assert spooled(spool, records(20)) == 0
    assert spool.pending == 100


def test_a_failed_drain_resumes_where_it_stopped(tmp_path):
    spool, broker = Spool(tmp_path, max_records=1000), Broker()
    batches = [records(100) for _ in range(3)]
    for batch in batches:
        spooled(spool, batch)
    calls = 0

    def flaky(chunk: list[dict]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise BrokerUnavailable("went away")
        broker.publish(chunk)

    with pytest.raises(BrokerUnavailable):
        spool.drain(flaky)
    spool.drain(broker.publish)
    assert broker.batches == batches


def test_spool_files_of_a_dead_process_are_claimed_and_sent(tmp_path):
    orphan_records = records(5)
    script = (
        "import json, sys; from pathlib import Path; from webapp.logpipe.spool import Spool; "
        "batch = json.loads(sys.argv[2]); Spool(Path(sys.argv[1]), 100).write(batch, len(batch))"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path), json.dumps(orphan_records)], check=True)
    spool, broker = Spool(tmp_path, max_records=1000), Broker()
    assert spool.has_work()
    spool.drain(broker.publish)
    assert broker.ids == [record["prediction_id"] for record in orphan_records]
    assert list(tmp_path.glob("*.jsonl")) == []


def test_a_torn_last_line_is_skipped_not_fatal(tmp_path):
    spool, broker = Spool(tmp_path, max_records=1000), Broker()
    spooled(spool, records(3))
    with spool.path.open("a") as spool_file:
        spool_file.write('{"count": 3, "payload": [{"prediction_id": "half-writ')
    spool.drain(broker.publish)
    assert len(broker.ids) == 3


def test_shipper_spools_while_the_broker_is_down_and_catches_up_in_order(tmp_path):
    broker, now, before = Broker(), [0.0], stream_counts("test-catch-up")
    spool = Spool(tmp_path, 10_000, stream="test-catch-up")
    shipper = Shipper(broker.publish, spool, retry_seconds=1.0, clock=lambda: now[0], stream="test-catch-up")
    sent = [records(10) for _ in range(4)]
    shipper.ship(sent[0])
    broker.up = False
    shipper.ship(sent[1])
    broker.up = True
    shipper.ship(sent[2])  # within the retry interval: straight to the spool, behind sent[1]
    now[0] = 2.0
    shipper.retry_spooled()
    shipper.ship(sent[3])
    assert broker.ids == [record["prediction_id"] for batch in sent for record in batch]
    counted = grown(before, stream_counts("test-catch-up"))
    assert counted == {"published": 20, "spooled": 20, "respooled_published": 20, "dropped": 0}


def test_drops_beyond_the_spool_bound_are_counted_for_health_in_prometheus_by_stream(tmp_path):
    broker = Broker()
    broker.up = False
    before = stream_counts("test-drops")
    shipper = Shipper(broker.publish, Spool(tmp_path, max_records=15), stream="test-drops")
    shipper.ship(records(10))
    shipper.ship(records(10))
    after = stream_counts("test-drops")
    assert (after["spooled"] - before["spooled"], after["dropped"] - before["dropped"]) == (10, 10)


# Counts records of a made-up stream in a process of its own, as a gunicorn worker does, then exits.
COUNT_AND_EXIT = (
    "import sys; from webapp.metrics.instruments import count_log_records; "
    "count_log_records('test-processes', 'spooled', int(sys.argv[1])); "
    "count_log_records('test-processes', 'dropped', 1)"
)


def test_health_counts_sum_the_metric_files_of_every_process_dead_ones_included(tmp_path, monkeypatch):
    """Under gunicorn every worker writes its counts to PROMETHEUS_MULTIPROC_DIR; /health sums them all."""
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for amount in (3, 4):
        subprocess.run([sys.executable, "-c", COUNT_AND_EXIT, str(amount)], check=True, env=environment)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    counts = stream_counts("test-processes")
    assert (counts["spooled"], counts["dropped"], counts["published"]) == (7, 2, 0)


def test_a_stream_declaration_builds_its_whole_chain(tmp_path):
    """The task, serializer, spool directory, encoders and metric label all come from the one declaration."""
    published = []
    stream = Stream("test-chain", "test.write_batch", "chained", lambda record: record["n"], sum, "msgpack")
    celery = Celery("chain-test")
    buffer = shipping_buffer(celery, make_settings(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:1/0"), stream)
    publisher = buffer._shipper._publish.__self__
    assert (publisher._task_name, publisher._serializer) == ("test.write_batch", "msgpack")
    assert buffer._shipper._spool.directory == make_settings(tmp_path).spool_path / "chained"
    buffer._shipper._publish = published.append
    try:
        for n in (1, 2, 3):
            buffer.append({"n": n})
        buffer.flush()
    finally:
        buffer.close()
    assert published == [6]
    assert stream_counts("test-chain")["published"] == 3
    assert PREDICTION_LOGS.spool_dir(make_settings(tmp_path)) == make_settings(tmp_path).spool_path


def test_buffer_ships_a_full_batch_without_waiting_for_the_interval(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 100)), 60.0, 50)
    try:
        for record in records(50):
            buffer.append(record)
        deadline = time.monotonic() + 2
        while not broker.batches and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [len(batch) for batch in broker.batches] == [50]
    finally:
        buffer.close()


def test_closing_the_buffer_ships_what_it_holds(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 100)), 60.0, 500)
    sent = records(7)
    for record in sent:
        buffer.append(record)
    buffer.close()
    assert broker.ids == [record["prediction_id"] for record in sent]


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1//"])  # nobody on port 1
def test_publishing_to_a_dead_broker_fails_within_half_a_second(tmp_path, url):
    settings = make_settings(tmp_path, CELERY_BROKER_URL=url)
    celery = Celery("dead-broker-test")
    celery.conf.update(celeryconfig.celery_settings(settings))
    publisher = CeleryPublisher(celery, settings.broker_timeout_seconds, settings.broker_confirm_timeout_seconds)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        publisher.publish(records(1))
    assert time.monotonic() - started < 0.5


def test_a_write_retry_never_waits_past_half_the_shortest_visibility_timeout_allowed():
    with pytest.raises(ConfigError, match="BROKER_VISIBILITY_TIMEOUT"):
        Settings.from_env({"BROKER_VISIBILITY_TIMEOUT": str(2 * RETRY_WRITES["retry_backoff_max"] - 1)})
    assert Settings.from_env({"BROKER_VISIBILITY_TIMEOUT": str(2 * RETRY_WRITES["retry_backoff_max"])})
    assert RETRY_WRITES["max_retries"] is None and RETRY_WRITES["retry_jitter"]


def test_records_that_cannot_be_encoded_are_dropped_and_counted_not_retried_forever(tmp_path):
    broker = Broker()

    def encode(batch: list[dict]) -> list[dict]:
        if any("latency_ms" not in record for record in batch):
            raise KeyError("latency_ms")
        return batch

    before = stream_counts("test-unencodable")
    shipper = Shipper(broker.publish, Spool(tmp_path, 100), encode, stream="test-unencodable")
    shipper.ship([{"prediction_id": "broken"}])
    shipper.ship(records(2))
    counted = grown(before, stream_counts("test-unencodable"))
    assert counted["dropped"] == 1 and counted["published"] == 2


def test_the_buffer_reports_the_longest_a_record_waited_to_be_shipped(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 100)), 0.3, 500)
    try:
        buffer.append(records(1)[0])
        deadline = time.monotonic() + 3
        while not broker.batches and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 250 <= buffer.status()["longest_wait_ms"] < 2000  # one flush interval, not the batch size
    finally:
        buffer.close()


def test_records_that_arrive_while_a_batch_is_published_wait_for_the_next_cycle(tmp_path):
    broker = Broker()

    def publish_while_requests_arrive(batch: list[dict]) -> None:
        broker.publish(batch)
        if len(broker.batches) == 1:  # three requests answered during the confirm wait
            for record in records(3):
                buffer.append(record)

    buffer = LogBuffer(Shipper(publish_while_requests_arrive, Spool(tmp_path, 10_000)), 60, 1000)
    try:
        for record in records(500):
            buffer.append(record)
        buffer.flush()
        assert [len(batch) for batch in broker.batches] == [500]  # not [500, 3]: a batch per confirm
        assert buffer.status()["buffered"] == 3
        buffer.flush()
        assert [len(batch) for batch in broker.batches] == [500, 3]
    finally:
        buffer.close()


def test_a_full_batch_leaves_without_waiting_for_the_cycle(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 10_000)), 60, 100)
    try:
        for record in records(250):
            buffer.append(record)
        deadline = time.monotonic() + 3
        while sum(len(batch) for batch in broker.batches) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [len(batch) for batch in broker.batches][:2] == [100, 100]
    finally:
        buffer.close()
    assert sum(len(batch) for batch in broker.batches) == 250  # close ships the rest


def test_each_record_is_encoded_by_the_thread_that_buffers_it(tmp_path):
    """The request that made a record pays for its row; one that cannot be encoded fails there, alone."""
    published = []
    shipper = Shipper(published.append, Spool(tmp_path, 100), encode_log_rows)
    buffer = LogBuffer(shipper, 60, 100, encode_record=log_row)
    batch = records(3)
    try:
        with pytest.raises(KeyError):
            buffer.append({"prediction_id": "00000000-0000-0000-0000-000000000002"})  # no latency_ms
        for record in batch:
            buffer.append(record)
        assert buffer.status()["buffered"] == 3
    finally:
        buffer.close()
    assert [envelope["rows"] for envelope in published] == [encode_log_batch(batch)["rows"]]


def test_a_batch_of_buffered_rows_costs_the_shipping_thread_a_fraction_of_encoding_them():
    """What the shipping thread still does holds the GIL a small part of what encoding took:
    requests served meanwhile no longer wait for it (the answers' p90 and above, README)."""
    batch = records(1000)
    rows = [log_row(record) for record in batch]
    encoding = min(timeit.repeat(lambda: encode_log_batch(batch), number=1, repeat=5))
    batching = min(timeit.repeat(lambda: encode_log_rows(rows), number=1, repeat=5))
    assert batching < encoding / 4, f"{batching * 1000:.2f} ms to batch, {encoding * 1000:.2f} ms to encode"
