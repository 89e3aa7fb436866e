"""Gets each batch of a stream's records to the broker, or into the spool until the broker is back.

Every count goes to Prometheus as it happens (`router_log_records_total{stream, state}`), the only
place it is kept: /health reads this process's values and the sum across web processes from there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..metrics.instruments import count_log_records
from .publisher import BrokerUnavailable
from .spool import Spool

log = logging.getLogger(__name__)

Encode = Callable[[list[Any]], Any]  # records as the buffer holds them -> a batch
Publish = Callable[[Any], None]


class Shipper:
    """Publish or spool; never block long, never drop silently. Used from one thread only."""

    def __init__(
        self,
        publish: Publish,
        spool: Spool,
        encode: Encode = list,
        retry_seconds: float = 1.0,
        clock=time.monotonic,
        stream: str = "prediction_logs",
    ) -> None:
        self.stream = stream  # the `stream` label of its counts
        self._publish = publish
        self._spool = spool
        self._encode = encode
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._broker_down_until = 0.0
        self._in_outage = False

    def ship(self, records: list[Any]) -> None:
        """Encode the records as one batch and publish it; while the broker is known to be down, or
        batches wait in the spool, the batch goes to the spool (nothing overtakes what waits there)."""
        try:
            payload = self._encode(records)
        except (KeyError, TypeError, ValueError) as exc:  # our own bug: kept, it would fail every cycle
            self._count("dropped", len(records))
            log.error("dropped %d %s records that could not be encoded: %r", len(records), self.stream, exc)
            return
        if self._broker_down() or self._spool.pending:
            self._to_spool(payload, len(records))
            return
        try:
            self._publish(payload)
        except BrokerUnavailable as exc:
            self._mark_down(exc)
            self._to_spool(payload, len(records))
            return
        self._mark_up()
        self._count("published", len(records))

    def retry_spooled(self) -> None:
        """Re-publish spooled records if the retry interval has passed."""
        if self._broker_down() or not self._spool.has_work():
            return
        try:
            sent = self._spool.drain(self._publish)
        except BrokerUnavailable as exc:
            self._mark_down(exc)
            return
        self._mark_up()
        if sent:
            self._count("respooled_published", sent)
            log.info("re-published %d spooled %s records", sent, self.stream)

    def _broker_down(self) -> bool:
        return self._clock() < self._broker_down_until

    def _mark_down(self, exc: Exception) -> None:
        if not self._in_outage:
            log.warning("broker unavailable, spooling log records: %s", exc)
        self._in_outage = True
        self._broker_down_until = self._clock() + self._retry_seconds

    def _mark_up(self) -> None:
        if self._in_outage:
            log.info("broker reachable again")
        self._in_outage = False

    def _to_spool(self, payload: Any, count: int) -> None:
        try:
            dropped = self._spool.write(payload, count)
            bound = self._spool.refused_by  # "N records" or "N bytes": the bound the batch did not fit
        except OSError as exc:  # disk full or unwritable: nowhere left to keep them
            log.error("cannot write the log spool at %s: %s", self._spool.directory, exc)
            dropped, bound = count, "unwritable"
        self._count("spooled", count - dropped)
        if dropped:
            self._count("dropped", dropped)
            log.error("log spool full (%s): dropped %d %s records", bound, dropped, self.stream)

    def _count(self, name: str, amount: int) -> None:
        count_log_records(self.stream, name, amount)
