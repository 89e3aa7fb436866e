"""Metric updates from the request path, kept in process memory and written out once a second.

In multiprocess mode every `inc` or `observe` is a locked write to an mmap'd file, after a pid
check: six of them per /predict cost about a tenth of the request thread. Here a request adds to
plain Python numbers under one uncontended lock, and a daemon thread writes the sums to the
metric files every `FLUSH_SECONDS`. So /metrics lags each process by at most that long (the
serving process flushes its own first), and a SIGKILLed worker loses at most that long of its
metric updates; never a prediction log, which travels on its own path.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from bisect import bisect_left
from typing import Any

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0


class PendingUpdates:
    """Counter increments and histogram observations not yet in the metric files."""

    def __init__(self, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._flush_seconds = flush_seconds
        self._forget()
        os.register_at_fork(after_in_child=self._forget)  # gunicorn forks its workers after the app is built

    def _forget(self) -> None:
        """A new process's state: nothing pending (a forked child must not write its parent's), no flusher."""
        self._lock = threading.Lock()
        self._counts: dict[Any, float] = {}  # counter child -> amount
        self._observations: dict[Any, list] = {}  # histogram child -> [sum, count per bucket]
        self._started = False

    def inc(self, counter: Any, amount: float = 1) -> None:
        if not self._started:
            self._start()
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0) + amount

    def observe(self, histogram: Any, value: float) -> None:
        if not self._started:
            self._start()
        bounds = histogram._upper_bounds  # ends with +Inf: every value has a bucket
        with self._lock:
            cell = self._observations.get(histogram)
            if cell is None:
                cell = self._observations[histogram] = [0.0, [0] * len(bounds)]
            cell[0] += value
            cell[1][bisect_left(bounds, value)] += 1  # the first bucket whose bound is >= value

    def flush(self) -> None:
        """Write everything pending to the metric files, as the same `inc` and `observe` would have."""
        with self._lock:
            counts, observations = self._counts, self._observations
            self._counts, self._observations = {}, {}
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, (total, per_bucket) in observations.items():
            # prometheus_client keeps a histogram as a sum and one (non-cumulative) value per bucket,
            # and has no public call that adds many observations at once.
            histogram._sum.inc(total)
            for bucket, count in zip(histogram._buckets, per_bucket, strict=True):
                if count:
                    bucket.inc(count)

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="metrics-flusher", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(self._flush_seconds):
            try:
                self.flush()
            except Exception:  # a full disk, say: the thread must outlive it; the sums stay lost, said so
                log.exception("could not write metric updates")


PENDING = PendingUpdates()
