"""Sends a batch of log records to the workers as one Celery task, without waiting long on a dead broker.

On RabbitMQ the channel is in confirm mode (`celeryconfig.py`): `publish` returns only once the broker
has written the batch to its queue, and raises otherwise. Either way the caller learns whether the
broker has the batch, and keeps it (buffer or spool) until it does.
"""

from __future__ import annotations

from typing import Any

from amqp.exceptions import AMQPError, MessageNacked
from celery import Celery
from kombu import Producer
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from ..tasks import WRITE_BATCH_TASK

# What a broker that did not take a batch raises, whichever transport it is.
BROKER_ERRORS = (KombuError, AMQPError, MessageNacked, RedisError, OSError)


def batch_summary(payload: Any) -> str:
    """What the task's message shows as its arguments (worker logs, events, Flower)."""
    if isinstance(payload, dict):  # a format-2 prediction log envelope
        return f"[batch {payload.get('batch_id')}: {payload.get('count')} rows]"
    return f"[batch: {len(payload)} characters]"


class BrokerUnavailable(Exception):
    """The broker did not take the batch; the caller keeps it."""


class CeleryPublisher:
    """Publishes by task name, so the web app never imports the worker. Used from one thread at a time."""

    def __init__(
        self,
        celery: Celery,
        timeout_seconds: float,
        confirm_timeout_seconds: float,
        task_name: str = WRITE_BATCH_TASK,
        serializer: str = "msgpack",
    ) -> None:
        self._celery = celery
        self._task_name = task_name
        self._serializer = serializer
        # One quick retry covers a connection that went stale; a dead broker fails fast.
        self._retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}
        self._timeout = timeout_seconds
        self._confirm_timeout = confirm_timeout_seconds
        # A connection of its own, not one from kombu's process-wide pool: after a failure it is
        # thrown away, because a confirm that arrives late would be taken for the next batch's.
        self._producer: Producer | None = None

    def publish(self, payload: Any) -> None:
        """Send one encoded batch as the task's single argument."""
        try:
            self._celery.send_task(
                self._task_name,
                args=[payload],
                # Celery would otherwise build a repr of the whole batch for every message (a quarter
                # of the publish's CPU) only for logs and monitors to show its first characters.
                argsrepr=batch_summary(payload),
                kwargsrepr="{}",
                serializer=self._serializer,
                producer=self._connected_producer(),
                retry=True,
                retry_policy=self._retry_policy,
                timeout=self._timeout,
                confirm_timeout=self._confirm_timeout,
            )
        except BROKER_ERRORS as exc:
            self._discard_connection()
            detail = str(exc) or repr(exc.__cause__)  # kombu wraps a NACK in an error with no message
            raise BrokerUnavailable(f"{type(exc).__name__}: {detail}") from exc

    def close(self) -> None:
        if self._producer is not None:
            self._producer.connection.release()
            self._producer = None

    def _connected_producer(self) -> Producer:
        if self._producer is None:
            self._producer = self._celery.amqp.Producer(self._celery.connection_for_write())
        return self._producer

    def _discard_connection(self) -> None:
        if self._producer is not None:
            self._producer.connection.collect()  # frees the socket without talking to a broken broker
            self._producer = None
