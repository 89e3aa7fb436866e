"""Ids made on the request path are canonical version-4 UUIDs, distinct, and distinct across a fork."""

from __future__ import annotations

import os
import uuid

from webapp.ids import new_uuid4


def test_ids_are_canonical_random_uuids():
    for _ in range(1000):
        text = new_uuid4()
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_ids_do_not_repeat_across_many_pools():
    ids = [new_uuid4() for _ in range(50_000)]
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
