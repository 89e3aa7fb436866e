"""A worker that keeps up feeds each batch's COPY in slices, with a pause after each: the ingest
yields the CPU to what shares the machine, as autovacuum's cost-based delay does.

Postgres turns a whole batch's COPY into one burst of one core, several times a second. Where web
processes share cores with the database, each burst takes a core from the requests being served
meanwhile, and their answers' latency grows a tail. Sent a few KiB at a time with a pause between
slices, the same work comes in many small pieces spread over tens of milliseconds; the A/B runs
behind the default are in bench/results/history.md. Postgres' CPU per row stays the same: one COPY,
one transaction. The worker pays a little CPU per row for its wake-ups.

A worker that is behind does not pause. A batch that was already waiting when the previous one was
stored (the worker had no idle time between them) goes in at full speed, so pacing spends only the
slack the worker would otherwise spend idle, never the ingest's capacity.
"""

from __future__ import annotations

import io
import time

from flask import Flask

SLICE_BYTES = 4096
# Longer than a worker's turnaround between two batches it holds already (an ack, the next message).
IDLE_SECONDS = 0.01


class CopyPacer:
    """Hands each batch's text to COPY: in paced slices, unless the batch followed the last at once."""

    def __init__(self, pause_seconds: float, idle_seconds: float = IDLE_SECONDS) -> None:
        self.pause_seconds = pause_seconds
        self.idle_seconds = idle_seconds
        self._last_finished = float("-inf")

    def source(self, rows: str) -> io.StringIO:
        """The file COPY reads `rows` from, `SLICE_BYTES` at a time."""
        idle = time.monotonic() - self._last_finished
        return _Slices(rows, self.pause_seconds if idle >= self.idle_seconds else 0.0)

    def finished(self) -> None:
        """The batch is stored (or refused): the idle time before the next one counts from here."""
        self._last_finished = time.monotonic()


def process_pacer(app: Flask) -> CopyPacer:
    """The pacer of this worker process, made from `LOG_COPY_PAUSE_MS` on first use: one per process,
    because it remembers when the process stored its last batch."""
    if "copy_pacer" not in app.extensions:
        app.extensions["copy_pacer"] = CopyPacer(app.extensions["settings"].log_copy_pause_ms / 1000)
    return app.extensions["copy_pacer"]


class _Slices(io.StringIO):
    def __init__(self, rows: str, pause_seconds: float) -> None:
        super().__init__(rows)
        self.pause_seconds = pause_seconds
        self._end = len(rows)

    def read(self, size: int | None = -1) -> str:
        if self.pause_seconds and 0 < self.tell() < self._end:
            time.sleep(self.pause_seconds)
        return super().read(size)
