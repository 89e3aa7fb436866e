"""The in-process buffer that keeps log I/O off the request path.

`append` encodes the record (`encode_record`, on the caller's thread) and appends it to a deque:
the request that made a record pays for its encoding, a few µs, instead of the shipping thread
encoding a thousand at once while requests wait for the GIL. A background thread wakes every
`flush_seconds`, or as soon as `batch_size` records wait, and hands batches to the shipper: so
under load batches are full, and a quiet process still ships within `flush_seconds`. `close`
(gunicorn's worker_exit, or interpreter exit) ships what is left, so a graceful stop loses
nothing. A SIGKILLed process loses at most what it buffered since the last flush; `status()`
reports the longest any record has waited, which is that window as it really was (a slow publish
stretches it). The count of records appended goes to Prometheus once a cycle, not once a record.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..metrics.instruments import count_log_records
from .forks import reset_after_fork
from .shipper import Shipper

log = logging.getLogger(__name__)


def _as_is(record: dict[str, Any]) -> dict[str, Any]:
    return record


class LogBuffer:
    """Collects one stream's records and ships them in batches from a background thread."""

    def __init__(
        self,
        shipper: Shipper,
        flush_seconds: float,
        batch_size: int,
        encode_record: Callable[[dict[str, Any]], Any] | None = None,
        name: str = "log-shipper",
    ) -> None:
        self._shipper = shipper
        self._encode_record = encode_record or _as_is
        self._name = name
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._records: deque[Any] = deque()  # encoded records
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ship_lock = threading.Lock()
        self._thread: threading.Thread | None = None  # started by the first append in each process
        self._exit_registered = False
        self._first_waiting_since: float | None = None  # when the oldest unshipped record arrived
        self.longest_wait_seconds = 0.0
        self._appended = 0  # records appended in this process; counted in Prometheus up to `_appended_told`
        self._appended_told = 0
        reset_after_fork(self)

    def append(self, record: dict[str, Any]) -> None:
        if self._thread is None:
            self._start()
        encoded = self._encode_record(record)  # a record that cannot be encoded fails its request
        if not self._records:
            self._first_waiting_since = time.monotonic()
        self._records.append(encoded)
        self._appended += 1
        if len(self._records) >= self._batch_size:
            self._wake.set()

    def flush(self) -> None:
        """Ship everything buffered now, on the calling thread."""
        with self._ship_lock:
            self._tell_appended()
            self._ship_buffered()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and ship what is left (publish or spool)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        self.flush()

    def status(self) -> dict[str, float]:
        """What waits now, and the longest any record has waited (its counts are Prometheus')."""
        return {"buffered": len(self._records), "longest_wait_ms": round(self.longest_wait_seconds * 1000, 1)}

    def _start(self) -> None:
        with self._ship_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            thread.start()
            self._thread = thread
            if not self._exit_registered:  # a forked child inherits its parent's registration
                atexit.register(self.close)
                self._exit_registered = True

    def _after_fork_in_child(self) -> None:
        """A forked child's buffer: empty (its parent ships those records), unlocked, no thread yet."""
        self._records = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ship_lock = threading.Lock()  # the parent's shipping thread may have held it at the fork
        self._thread = None
        self._first_waiting_since = None
        self.longest_wait_seconds = 0.0
        self._appended = self._appended_told = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            try:
                with self._ship_lock:
                    self._tell_appended()
                    self._ship_buffered()
                    self._shipper.retry_spooled()
            except Exception:  # the thread must outlive any one bad cycle; records stay queued
                log.exception("log shipping cycle failed")

    def _tell_appended(self) -> None:
        appended = self._appended
        if appended > self._appended_told:
            count_log_records(self._shipper.stream, "buffered", appended - self._appended_told)
        self._appended_told = appended

    def _ship_buffered(self) -> None:
        if self._first_waiting_since is not None and self._records:
            waited = time.monotonic() - self._first_waiting_since
            self.longest_wait_seconds = max(self.longest_wait_seconds, waited)
        self._first_waiting_since = None
        cycle_started = time.monotonic()
        # Only what waited when the cycle began, and any full batch since: records arriving while
        # a publish waits for its confirm would otherwise leave at once, a few at a time, and a
        # batch's fixed costs (a broker message, a task, a transaction) would fall on a handful of rows.
        due = len(self._records)
        while due > 0 or len(self._records) >= self._batch_size:
            batch = []
            while self._records and len(batch) < self._batch_size:
                batch.append(self._records.popleft())
            due -= len(batch)
            try:
                self._shipper.ship(batch)
            except Exception:
                self._records.extendleft(reversed(batch))  # keep them for the next cycle
                raise
        if self._records:
            self._first_waiting_since = cycle_started  # the oldest left arrived since: never understated
