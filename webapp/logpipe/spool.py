"""A bounded local file of log batches that could not be published, one file per web process.

Each batch is appended whole, as one JSON line `{"count": N, "payload": ...}` holding exactly what
the publisher would have sent, and re-published as it is, oldest first, once the broker answers
again. Re-publishing may repeat a batch (say, if the process dies mid-drain, or the broker took a
batch whose confirm never came); the batch keeps its id, so the worker's ledger skips the repeat.
A batch that does not fit under `max_records` is dropped whole and counted. Files left by a dead
process on this host are claimed and drained by a live one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ORPHAN_SCAN_SECONDS = 5.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """Append-only JSON-lines files of whole batches under `directory`, drained in order."""

    def __init__(self, directory: Path, max_records: int) -> None:
        self.directory = directory
        self.max_records = max_records
        self.pending = 0  # records in this process's files, not yet re-published
        self._offsets: dict[Path, int] = {}  # bytes already re-published, per file
        self._next_orphan_scan = 0.0

    @property
    def _prefix(self) -> str:
        return f"{socket.gethostname()}-{os.getpid()}"

    @property
    def path(self) -> Path:
        return self.directory / f"{self._prefix}.jsonl"

    def write(self, payload: Any, count: int) -> int:
        """Append a batch of `count` records if it fits under the bound; returns how many were dropped."""
        if self.pending + count > self.max_records:
            return count
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as spool_file:
            spool_file.write(json.dumps({"count": count, "payload": payload}, separators=(",", ":")) + "\n")
        self.pending += count
        return 0

    def drain(self, publish: Callable[[Any], None]) -> int:
        """Re-publish spooled batches until done or `publish` raises; returns the count of records sent."""
        self._claim_orphans()
        sent = 0
        for path in self._own_files():
            for line, end_offset in self._lines(path):
                publish(line["payload"])
                self._offsets[path] = end_offset
                self.pending = max(self.pending - line["count"], 0)
                sent += line["count"]
            path.unlink(missing_ok=True)
            self._offsets.pop(path, None)
        return sent

    def has_work(self) -> bool:
        if self.pending > 0:
            return True
        # Orphans appear only when a process dies; a directory scan per flush cycle is not worth it.
        if time.monotonic() < self._next_orphan_scan:
            return False
        self._next_orphan_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
        return any(self._orphans())

    def _own_files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        files = [*self.directory.glob(f"{self._prefix}.jsonl"), *self.directory.glob(f"{self._prefix}-claimed-*.jsonl")]
        return sorted(files, key=lambda path: path.stat().st_mtime)

    def _lines(self, path: Path) -> Iterator[tuple[dict[str, Any], int]]:
        with path.open("rb") as spool_file:
            spool_file.seek(self._offsets.get(path, 0))
            for line in spool_file:
                if line.endswith(b"\n"):  # a torn last line (process killed mid-write) is skipped
                    yield json.loads(line), spool_file.tell()

    def _orphans(self) -> Iterator[Path]:
        if not self.directory.exists():
            return
        host = socket.gethostname()
        for path in self.directory.glob(f"{host}-*.jsonl"):
            owner = path.name[len(host) + 1 :].split("-", 1)[0].split(".", 1)[0]
            if owner.isdigit() and int(owner) != os.getpid() and not _pid_alive(int(owner)):
                yield path

    def _claim_orphans(self) -> None:
        for path in list(self._orphans()):
            claimed = self.directory / f"{self._prefix}-claimed-{path.name}"
            try:
                path.rename(claimed)  # atomic: two claimants cannot both win
            except FileNotFoundError:
                continue
            self.pending += sum(line["count"] for line, _ in self._lines(claimed))
            log.info("claimed spool file %s left by a dead process", path.name)


def counters_path(directory: Path) -> Path:
    return directory / f"{socket.gethostname()}-{os.getpid()}.counters.json"


def write_counters(directory: Path, counters: dict[str, int]) -> None:
    """Leave this process's log-pipeline counters where /health can sum them across processes."""
    directory.mkdir(parents=True, exist_ok=True)
    target = counters_path(directory)
    staging = target.with_suffix(".tmp")
    staging.write_text(json.dumps(counters))
    staging.replace(target)


def read_counters(directory: Path) -> dict[str, int]:
    """Sum every process's counters (dead ones included: a drop stays counted)."""
    totals: dict[str, int] = {}
    if not directory.exists():
        return totals
    for path in directory.glob("*.counters.json"):
        try:
            counters = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced right now; the next read sees it
        for key, value in counters.items():
            totals[key] = totals.get(key, 0) + int(value)
    return totals


def spool_backlog(directory: Path) -> dict[str, int]:
    """Files and bytes waiting to be re-published, across processes (cheap: stat only)."""
    files = list(directory.glob("*.jsonl")) if directory.exists() else []
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files if path.exists())}
