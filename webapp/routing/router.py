"""Each web process's routing table, kept current by a background thread.

The request path only reads `Router.table()`: an attribute read, no I/O. A watcher thread polls the
config store's version every `poll_seconds` and swaps in a new immutable table when it changes.
When the cache is unreachable, the last-known table keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from ..artifacts.cache import ArtifactCache
from ..errors import ServiceUnavailable
from ..metrics.instruments import ROUTING_BEHIND, observe_config_version
from .allocation import RoutingTable
from .config import ModelUnavailable, PredictorCache, RoutingConfig, build_table, current_version, read_config
from .store import ConfigStore

log = logging.getLogger(__name__)


class Router:
    """Holds this process's routing table and keeps it current from the config store."""

    def __init__(
        self,
        app: Flask,
        store: ConfigStore,
        poll_seconds: float,
        heal_seconds: float = 5.0,
        artifacts: ArtifactCache | None = None,
    ) -> None:
        self._app = app
        self._store = store
        self._poll_seconds = poll_seconds
        # The cache can miss an update (a change committed while Redis was down): compare with the
        # database now and then and republish. Costs one single-row query per process per period.
        self._heal_seconds = heal_seconds
        self._predictors = PredictorCache(artifacts)
        self._table: RoutingTable | None = None
        self._owner_pid: int | None = None
        self._start_lock = threading.Lock()
        self._applying = threading.Lock()
        self._stop = threading.Event()
        self._last_heal = 0.0
        self._last_success = 0.0
        self._last_error: str | None = None

    def table(self) -> RoutingTable:
        """The current routing table; the first call in a process loads it and starts the watcher."""
        if self._owner_pid != os.getpid():
            self._start()
        table = self._table
        if table is None:
            raise ServiceUnavailable("routing configuration is unavailable: neither cache nor database answered")
        return table

    def refresh(self) -> bool:
        """Bring the table up to date with the store; True if it changed."""
        with self._app.app_context():
            published = self._store.version()
            now = time.monotonic()
            if published is None or self._due_for_heal(now, published):
                config = read_config()
                self._store.publish(config)
            elif self._table is None or published != self._table.version:
                config = self._store.load() or read_config()
            else:
                self._mark_success(now)
                return False
            self._apply(config)
            self._mark_success(now)
            return True

    def publish_from_database(self) -> None:
        """After a registry change: publish the committed configuration and use it here at once."""
        config = read_config()
        try:
            self._store.publish(config)
        except (RedisError, OSError) as exc:  # the change is committed; the healing check republishes
            log.warning("routing config %s not published to %s: %s", config["version"], self._store.name, exc)
        try:
            self._apply(config)
        except ModelUnavailable as exc:  # committed all the same: the watcher keeps trying, and says why
            self._record_failure(exc)

    def _apply(self, config: RoutingConfig) -> None:
        # Every model the config names is loaded before it serves a request; a model that cannot be
        # loaded leaves the previous table serving (ModelUnavailable, reported by status()). The
        # watcher and a request thread (publish_from_database) may both apply: one at a time, so two
        # loads never interleave. Versions are not compared: a restored database counts from lower
        # again, and the watcher's next poll corrects a config applied out of order.
        with self._applying:
            try:
                table = build_table(config, self._predictors)
            except ModelUnavailable:
                ROUTING_BEHIND.set(1)
                raise
            self._table = table
            self._predictors.retain(config)
            ROUTING_BEHIND.set(0)
            observe_config_version(table.version)

    def status(self) -> dict[str, Any]:
        table = self._table
        return {
            "source": self._store.name,
            "config_version": table.version if table else None,
            "seconds_since_check": round(time.monotonic() - self._last_success, 3) if self._last_success else None,
            "last_error": self._last_error,
            "loaded_artifacts": self._predictors.loaded_artifacts(),
            "artifact_paths": self._predictors.artifact_paths(),
            "pid": os.getpid(),
        }

    def stop(self) -> None:
        self._stop.set()

    def _due_for_heal(self, now: float, published: int) -> bool:
        if self._store.name == "in-process":
            return False
        # Back from an outage, check at once: a change committed meanwhile never reached the cache.
        recovering = self._last_error is not None
        if not recovering and now - self._last_heal < self._heal_seconds:
            return False
        self._last_heal = now
        return current_version() > published

    def _mark_success(self, now: float) -> None:
        if self._last_error is not None:
            log.info("routing config source %s is reachable again", self._store.name)
        self._last_error = None
        self._last_success = now

    def _start(self) -> None:
        with self._start_lock:
            if self._owner_pid == os.getpid():
                return
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001  serve 503 until the watcher manages a load
                self._record_failure(exc)
            threading.Thread(target=self._watch, name="routing-config-watcher", daemon=True).start()
            self._owner_pid = os.getpid()

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001  the watcher must outlive any outage
                self._record_failure(exc)

    def _record_failure(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if self._last_error is None:  # log the transition, not every poll of an outage
            log.warning("routing config refresh failed, serving last-known config: %s", message)
        self._last_error = message
