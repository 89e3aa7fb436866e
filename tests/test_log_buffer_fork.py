"""A forked child's log buffer and spool start afresh: its own thread and files, none of its parent's records."""

from __future__ import annotations

import json
import os
import threading

from tests.records import log_record
from webapp.logpipe.buffer import LogBuffer
from webapp.logpipe.shipper import Shipper
from webapp.logpipe.spool import Spool


class Broker:
    def __init__(self) -> None:
        self.batches: list[list[dict]] = []

    def publish(self, batch: list[dict]) -> None:
        self.batches.append(list(batch))


def records(count: int) -> list[dict]:
    return [log_record("00000000-0000-0000-0000-000000000001") for _ in range(count)]


def in_child(run) -> dict:
    """Fork, run `run()` in the child, and return what it returned (JSON) or the error it raised."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # never back into pytest from here
        try:
            answer = {"result": run()}
        except BaseException as exc:
            answer = {"error": repr(exc)}
        os.write(write_end, json.dumps(answer).encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read_end) as pipe:
        answer = json.loads(pipe.read() or '{"error": "no answer"}')
    assert os.waitstatus_to_exitcode(status) == 0
    return answer


def test_a_forked_child_ships_only_its_own_records_from_its_own_thread(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 100)), flush_seconds=3600, batch_size=500)
    buffer.append(records(1)[0])
    buffer.append(records(1)[0])  # the parent's thread runs; two records wait
    parent_thread = buffer._thread

    def child() -> dict:
        waiting_at_fork = buffer.status()["buffered"]
        buffer.append(records(1)[0])
        buffer.flush()
        return {
            "waiting_at_fork": waiting_at_fork,
            "shipped": [len(batch) for batch in broker.batches],
            "own_thread": buffer._thread is not parent_thread and buffer._thread.is_alive(),
        }

    assert in_child(child) == {"result": {"waiting_at_fork": 0, "shipped": [1], "own_thread": True}}
    buffer.flush()
    assert [len(batch) for batch in broker.batches] == [2]  # the parent still ships its own
    buffer.close()


def test_a_lock_the_parents_shipping_thread_held_at_the_fork_does_not_stop_the_child(tmp_path):
    broker = Broker()
    buffer = LogBuffer(Shipper(broker.publish, Spool(tmp_path, 100)), flush_seconds=3600, batch_size=500)
    buffer.append(records(1)[0])
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # as a shipping cycle waiting for the broker's confirm would
        with buffer._ship_lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(10)
    try:

        def child() -> int:
            buffer.append(records(1)[0])
            buffer.flush()
            return len(broker.batches[-1])

        assert in_child(child) == {"result": 1}
    finally:
        release.set()
        holder.join()
        buffer.close()


def test_a_forked_child_spools_to_its_own_file_not_its_parents(tmp_path):
    spool = Spool(tmp_path, max_records=100)
    spool.write(records(3), 3)
    assert spool.pending == 3

    def child() -> dict:
        own = spool.path
        spool.write(records(2), 2)
        return {"pending": spool.pending, "own_file": own.name, "lines": len(own.read_bytes().splitlines())}

    answer = in_child(child)["result"]
    assert answer["pending"] == 2 and answer["lines"] == 1
    assert answer["own_file"] != spool.path.name and spool.pending == 3
