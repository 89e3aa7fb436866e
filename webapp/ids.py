"""UUIDs for the request path, without a system call per id: random ones, and time-ordered ones for keys.

`uuid.uuid4()` reads 16 bytes from the kernel each time, and each read releases the GIL: in a web
process whose log shipper and router threads are runnable, getting it back costs far more than the
id itself. Reading 4 KiB at a time keeps the ids as unpredictable (the same kernel source) for one
read per 256 ids. A forked child draws its own pool (`os.register_at_fork`).

Prediction ids are version 7 (RFC 9562: the Unix time in milliseconds, then 74 random bits), because
they are indexed: random keys land on random pages of the log's prediction_id index, and once the
index outgrows memory each insert touches a page the cache has not seen for a while, while
time-ordered keys go in at its right edge (measured in bench/results/history.md). They also say
when a prediction was made, to the millisecond. Python 3.14's `uuid.uuid7()` does the same; this is 3.11.
"""

from __future__ import annotations

import os
import threading
import time

_POOL_BYTES = 4096


class _RandomBytes:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a child must never reuse its parent's bytes

    def _reset(self) -> None:
        self._lock = threading.Lock()  # a new one: another thread may have held the old one at the fork
        self._pool = b""
        self._offset = 0

    def take16(self) -> bytes:
        with self._lock:
            if self._offset >= len(self._pool):
                self._pool, self._offset = os.urandom(_POOL_BYTES), 0
            start = self._offset
            self._offset += 16
            return self._pool[start : start + 16]


_random = _RandomBytes()
_VARIANT = "89ab"


def new_uuid4() -> str:
    """A random UUID (RFC 4122 version 4, variant 1) as its canonical string."""
    digits = _random.take16().hex()
    variant = _VARIANT[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def new_uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7, variant 1) as its canonical string."""
    millis = f"{time.time_ns() // 1_000_000:012x}"
    digits = _random.take16().hex()
    variant = _VARIANT[int(digits[16], 16) & 3]
    return f"{millis[:8]}-{millis[8:]}-7{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"
