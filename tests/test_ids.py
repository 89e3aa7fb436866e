"""Ids made on the request path: canonical UUIDs, distinct, distinct across a fork; prediction ids in time order."""

from __future__ import annotations

import os
import time
import uuid

from webapp.ids import new_uuid4, new_uuid7


def test_ids_are_canonical_random_uuids():
    for _ in range(1000):
        text = new_uuid4()
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_time_ordered_ids_are_canonical_version_7_uuids_carrying_the_millisecond():
    before = time.time_ns() // 1_000_000
    texts = [new_uuid7() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    for text in texts:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 7, uuid.RFC_4122)
        assert before <= parsed.int >> 80 <= after


def test_time_ordered_ids_sort_by_the_millisecond_they_were_made_in():
    earlier = [new_uuid7() for _ in range(100)]
    time.sleep(0.002)
    later = [new_uuid7() for _ in range(100)]
    assert max(earlier) < min(later)


def test_ids_do_not_repeat_across_many_pools():
    for make in (new_uuid4, new_uuid7):
        ids = [make() for _ in range(50_000)]
        assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_repeat_its_parents_ids():
    new_uuid4()  # the parent has a pool the child inherits
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write_end, new_uuid4().encode())
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read_end, 36).decode()
    assert from_child != new_uuid4()
    assert from_child not in {new_uuid4() for _ in range(256)}
