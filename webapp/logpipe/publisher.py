"""Sends a batch of log records to the workers as one Celery task, without waiting long on a dead broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from celeryconfig import WRITE_BATCH_TASK

from .wire import encode_batch


class BrokerUnavailable(Exception):
    """The broker did not take the batch; the caller keeps it."""


class CeleryPublisher:
    """Publishes by task name, so the web app never imports the worker."""

    def __init__(
        self,
        celery: Celery,
        timeout_seconds: float,
        task_name: str = WRITE_BATCH_TASK,
        encode: Callable[[list[dict[str, Any]]], str] = encode_batch,
    ) -> None:
        self._celery = celery
        self._task_name = task_name
        self._encode = encode
        # One quick retry covers a pooled connection that went stale; a dead broker fails fast.
        self._retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}
        self._timeout = timeout_seconds

    def publish(self, records: list[dict[str, Any]]) -> None:
        try:
            self._celery.send_task(
                self._task_name,
                args=[self._encode(records)],
                retry=True,
                retry_policy=self._retry_policy,
                timeout=self._timeout,
            )
        except (KombuError, RedisError, OSError) as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
