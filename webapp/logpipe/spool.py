"""A bounded local file of log batches that could not be published, one file per web process.

Each batch is appended whole, as one JSON line `{"count": N, "payload": ...}` holding exactly what
the publisher would have sent, and re-published as it is, oldest first, once the broker answers
again. Re-publishing may repeat a batch (say, if the process dies mid-drain, or the broker took a
batch whose confirm never came); the batch keeps its id, so the worker's ledger skips the repeat.
A batch that does not fit under `max_records` and `max_bytes` is dropped whole and counted. Files
left by a dead process on this host are claimed and drained by a live one; so are files a process
with the same pid left before a restart (containers reuse pids).

A line that cannot be read (not JSON, not the shape above, cut short by a crash or a damaged disk)
never blocks the drain: it is set aside, as it was, in `damaged/<file name>` beside the spool,
counted (`router_spool_damaged_lines_total{stream}`), and every other line ships. A line cut short
and then followed by a whole batch on the same line (a restart appended to a torn file) gives back
the whole batch.

The spool holds raw texts and user ids: its directories are 0700, its files 0600.
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

from ..metrics.instruments import count_spool_damaged
from .forks import reset_after_fork

log = logging.getLogger(__name__)

ORPHAN_SCAN_SECONDS = 5.0
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
DAMAGED_DIR = "damaged"
_RECORD_START = b'{"count":'  # how every line `write` makes begins


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def private_directory(directory: Path) -> Path:
    """Make `directory` (and parents) if missing, and leave it readable by this user only."""
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o777 != DIRECTORY_MODE:
        try:
            directory.chmod(DIRECTORY_MODE)  # mkdir's mode is cut by the umask, and says nothing of an old directory
        except PermissionError:
            log.warning("cannot make the spool directory %s private (owned by another user)", directory)
    return directory


def _append_private(path: Path, data: bytes) -> int:
    """Append to `path` (made 0600 if new, and made 0600 if older); a torn last line is ended first.

    Returns the bytes written: `data`, and the newline that ends a line left torn by a crash (so the
    torn piece stays a line of its own, set aside at the drain, instead of spoiling the batch after it).
    """
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        status = os.fstat(fd)
        if status.st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        if status.st_size and os.pread(fd, 1, status.st_size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return len(data)


def _record(line: bytes) -> dict[str, Any] | None:
    """The batch a line holds, or None if the line is not one."""
    try:
        record = json.loads(line)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(record, dict) or set(record) != {"count", "payload"}:
        return None
    count = record["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return None
    return record


def parse_line(line: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """Read one spool line (ending in a newline): the damaged bytes in it, and the batch, if any.

    A whole batch after a torn piece is recovered: a nested `{"count":` cannot parse to the line's
    end (its enclosing object's brace follows), so only the start of a real batch does.
    """
    record = _record(line)
    if record is not None:
        return b"", record
    start = line.find(_RECORD_START, 1)
    while start != -1:
        record = _record(line[start:])
        if record is not None:
            return line[:start], record
        start = line.find(_RECORD_START, start + 1)
    return line, None


class Spool:
    """Append-only JSON-lines files of whole batches under `directory`, drained in order."""

    def __init__(
        self,
        directory: Path,
        max_records: int,
        max_bytes: int | None = None,
        stream: str = "prediction_logs",
    ) -> None:
        self.directory = directory
        self.max_records = max_records
        self.max_bytes = max_bytes  # None: no bound in bytes
        self.stream = stream  # the `stream` label of the damaged-lines count
        self.refused_by = ""  # the bound the last dropped batch did not fit: "N records" or "N bytes"
        self._pending = 0  # records in this process's files, not yet re-published
        self._pending_bytes = 0  # bytes of this process's files, not yet re-published
        self._offsets: dict[Path, int] = {}  # bytes already re-published or set aside, per file
        self._next_orphan_scan = 0.0
        self._adopted = False  # whether the counts above include what earlier processes of this pid left
        reset_after_fork(self)

    @property
    def _prefix(self) -> str:
        return f"{socket.gethostname()}-{os.getpid()}"

    @property
    def path(self) -> Path:
        return self.directory / f"{self._prefix}.jsonl"

    @property
    def damaged_dir(self) -> Path:
        return self.directory / DAMAGED_DIR

    @property
    def pending(self) -> int:
        """Records waiting in this process's files (those a previous process of this pid left included)."""
        self._adopt_own_files()
        return self._pending

    @property
    def pending_bytes(self) -> int:
        self._adopt_own_files()
        return self._pending_bytes

    def write(self, payload: Any, count: int) -> int:
        """Append a batch of `count` records if it fits under both bounds; returns how many were dropped."""
        self._adopt_own_files()
        if self._pending + count > self.max_records:
            self.refused_by = f"{self.max_records} records"
            return count
        line = (json.dumps({"count": count, "payload": payload}, separators=(",", ":")) + "\n").encode()
        if self.max_bytes is not None and self._pending_bytes + len(line) > self.max_bytes:
            self.refused_by = f"{self.max_bytes} bytes"
            return count
        private_directory(self.directory)
        self._pending_bytes += _append_private(self.path, line)
        self._pending += count
        return 0

    def drain(self, publish: Callable[[Any], None]) -> int:
        """Re-publish spooled batches until done or `publish` raises; returns the count of records sent.

        Unreadable lines are set aside as they come; they never stop the drain.
        """
        self._adopt_own_files()
        self._claim_orphans()
        sent = 0
        for path in self._own_files():
            for damaged, record, end_offset in self._lines(path):
                if record is not None:
                    publish(record["payload"])
                if damaged:
                    self._set_aside(path, damaged, end_offset)
                self._pending_bytes = max(self._pending_bytes - (end_offset - self._offsets.get(path, 0)), 0)
                self._offsets[path] = end_offset
                if record is not None:
                    self._pending = max(self._pending - record["count"], 0)
                    sent += record["count"]
            torn = self._torn_tail(path)
            if torn:  # the end of a line its writer never finished: no newline will ever come now
                self._set_aside(path, torn, self._offsets.get(path, 0) + len(torn))
            self._pending_bytes = max(self._pending_bytes - len(torn), 0)
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

    def _adopt_own_files(self) -> None:
        """On first use in a process, count what earlier processes of this pid (and host) left in its files."""
        if self._adopted:
            return
        self._adopted = True
        for path in self._own_files():
            self._account(path)

    def _after_fork_in_child(self) -> None:
        """A forked child's spool: its files are named for its own pid, not its parent's."""
        self._pending = self._pending_bytes = 0
        self._offsets = {}
        self._adopted = False

    def _account(self, path: Path) -> None:
        self._pending += sum(record["count"] for _, record, _ in self._lines(path) if record is not None)
        self._pending_bytes += path.stat().st_size - self._offsets.get(path, 0)

    def _own_files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        files = [*self.directory.glob(f"{self._prefix}.jsonl"), *self.directory.glob(f"{self._prefix}-claimed-*.jsonl")]
        return sorted(files, key=lambda path: path.stat().st_mtime)

    def _lines(self, path: Path) -> Iterator[tuple[bytes, dict[str, Any] | None, int]]:
        """Each whole line from where the drain stands: its damaged bytes, its batch (or None), its end offset.

        A last line with no newline is left alone here: see `_torn_tail`.
        """
        with path.open("rb") as spool_file:
            spool_file.seek(self._offsets.get(path, 0))
            for line in spool_file:
                if not line.endswith(b"\n"):
                    return
                if line.strip():
                    damaged, record = parse_line(line)
                else:
                    damaged, record = b"", None  # an empty line: nothing to ship, nothing lost
                yield damaged, record, spool_file.tell()

    def _torn_tail(self, path: Path) -> bytes:
        try:
            with path.open("rb") as spool_file:
                spool_file.seek(self._offsets.get(path, 0))
                return spool_file.read()
        except FileNotFoundError:
            return b""

    def _set_aside(self, path: Path, damaged: bytes, end_offset: int) -> None:
        """Keep an unreadable piece of `path` in the damaged directory, count it, and say so."""
        target = private_directory(self.damaged_dir) / path.name
        kept = damaged if damaged.endswith(b"\n") else damaged + b"\n"
        try:
            size = target.stat().st_size if target.exists() else 0
            if self.max_bytes is not None and size + len(kept) > self.max_bytes:
                log.error(
                    "damaged spool file %s is full: an unreadable line of %d bytes was not kept", target, len(kept)
                )
            else:
                _append_private(target, kept)
        except OSError as exc:  # a full disk must not stop the drain either
            log.error("cannot keep an unreadable spool line in %s: %s", target, exc)
        count_spool_damaged(self.stream, 1)
        log.error(
            "set aside an unreadable line of %d bytes ending at byte %d of spool file %s, in %s",
            len(damaged),
            end_offset,
            path.name,
            target,
        )

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
            self._account(claimed)
            log.info("claimed spool file %s left by a dead process", path.name)


def spool_backlog(directory: Path) -> dict[str, Any]:
    """Files and bytes waiting to be re-published, across processes (cheap: stat only), and the bytes
    set aside as unreadable and where (how many lines: `router_spool_damaged_lines_total`)."""
    files = list(directory.glob("*.jsonl")) if directory.exists() else []
    damaged_dir = directory / DAMAGED_DIR
    damaged = list(damaged_dir.glob("*.jsonl")) if damaged_dir.exists() else []
    return {
        "files": len(files),
        "bytes": sum(_size(path) for path in files),
        "damaged_bytes": sum(_size(path) for path in damaged),
        "damaged_dir": str(damaged_dir),
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # drained meanwhile
        return 0
