"""Celery settings: how tasks are delivered, acknowledged and scheduled.

Where the broker is and how often statistics refresh come from `webapp.config` (the environment);
everything about delivery semantics lives here. The task names are the package's (`webapp.tasks`).
"""

from __future__ import annotations

from typing import Any

from webapp.config import Settings
from webapp.tasks import (
    DELIVER_WEBHOOKS_TASK,
    EVALUATE_ROLLOUTS_TASK,
    MAINTAIN_LOG_PARTITIONS_TASK,
    REFRESH_STATS_TASK,
    WEBHOOK_SWEEP_SECONDS,
)

# Batches a worker holds unacknowledged on RabbitMQ (see `_rabbitmq_settings`); measured in `make bench`.
RABBITMQ_PREFETCH = 4


def celery_settings(settings: Settings) -> dict[str, Any]:
    """The Celery configuration for these settings."""
    config = {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(settings),
        "task_serializer": "json",
        # Prediction log batches travel as msgpack (`webapp.logpipe.wire`): their rows are one text,
        # which msgpack copies where JSON would escape it.
        "accept_content": ["json", "msgpack"],
        "result_serializer": "json",
        "task_ignore_result": True,
        # Acknowledge after the write: a worker killed mid-batch leaves the batch to be redelivered,
        # and the batch ledger skips a batch already stored, so redelivery never duplicates a row.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # One process that runs tasks itself: a batch is one COPY, and the prefork pool's hand-off
        # to a child costs CPU the web processes need (measured, worker and Postgres together:
        # 105 µs per row with prefork, 92 solo). Solo also fetches a message only between tasks,
        # which matters on Redis: kombu pops a message before it records it as unacknowledged, and
        # the threads pool, fetching while tasks run, lost a batch to a SIGKILL in 2 of 4 runs of
        # the worker fault test. Scale out by starting more workers.
        "worker_pool": "solo",
        "imports": ("worker.tasks",),
        "timezone": "UTC",
        "beat_schedule_filename": str(settings.instance_dir / "celerybeat-schedule"),
        "beat_schedule": {
            "refresh-model-stats": {
                "task": REFRESH_STATS_TASK,
                "schedule": settings.stats_refresh_seconds,
                # A refresh queued while no worker was up is pointless once the next one is due.
                "options": {"expires": settings.stats_refresh_seconds},
            },
            "evaluate-rollouts": {
                "task": EVALUATE_ROLLOUTS_TASK,
                "schedule": settings.rollout_evaluate_seconds,
                "options": {"expires": settings.rollout_evaluate_seconds},
            },
            # Partitions are made days ahead, so a missed run or two changes nothing.
            "maintain-log-partitions": {
                "task": MAINTAIN_LOG_PARTITIONS_TASK,
                "schedule": settings.log_maintenance_seconds,
                "options": {"expires": settings.log_maintenance_seconds},
            },
            # Rollout webhook deliveries no task sent (the broker or worker was down): the outbox's sweep.
            "sweep-rollout-webhooks": {
                "task": DELIVER_WEBHOOKS_TASK,
                "schedule": WEBHOOK_SWEEP_SECONDS,
                "options": {"expires": WEBHOOK_SWEEP_SECONDS},
            },
        },
    }
    if settings.broker_kind == "rabbitmq":
        config.update(_rabbitmq_settings(settings))
    return config


def _rabbitmq_settings(settings: Settings) -> dict[str, Any]:
    return {
        # A quorum queue is durable and replicated (on one node: fsynced) before the broker confirms a
        # publish, and it requeues a dead consumer's unacknowledged deliveries as soon as its
        # connection drops. Task messages are persistent by default.
        "task_default_queue_type": "quorum",
        "worker_detect_quorum_queues": True,
        # A quorum queue cannot hold a delayed message, so a retry's countdown goes through Celery's
        # native delayed delivery (TTL queues that dead-letter back), which needs a topic exchange;
        # with a direct one the worker would sit on the retried batch until its countdown ends.
        "task_default_exchange_type": "topic",
        # Those delay queues (28 of them, one per power of two of seconds) only carry retry
        # countdowns. As quorum queues each would be a Raft cluster of its own, per virtual host:
        # measured, a node holding a few dozen such vhosts stalled for minutes. Durable classic
        # queues with persistent messages keep a waiting retry across a broker restart all the same.
        "broker_native_delayed_delivery_queue_type": "classic",
        # Acknowledgements are real here: a prefetched batch a killed worker held goes back to the
        # queue, so the worker can keep several in flight and never waits a round trip for the next.
        "worker_prefetch_multiplier": RABBITMQ_PREFETCH,
        "broker_heartbeat": 30,
        "broker_connection_timeout": settings.broker_timeout_seconds,
    }


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_kind == "rabbitmq":
        # Publisher confirms: publish() returns once the broker has the message on disk, and
        # raises otherwise, so the web keeps the batch (buffer or spool) until then.
        return {"confirm_publish": True}
    if settings.broker_kind == "embedded":
        # kombu's SQLAlchemy transport on Postgres hands these straight to create_engine(): a broker
        # database that went away is noticed before a publish, and an unreachable one fails fast.
        return {
            "pool_pre_ping": True,
            "connect_args": {"connect_timeout": max(1, round(settings.broker_timeout_seconds))},
        }
    if settings.broker_kind != "redis":
        return {}
    return {
        # A task taken by a worker that dies comes back after this long. Retry delays stay
        # below it, or the broker would hand a waiting retry to a second worker.
        "visibility_timeout": settings.broker_visibility_timeout,
        # Kombu looks for such tasks every interval x throttle seconds (default 10 x 10, which
        # made a killed worker's batch wait ~100 s): sweep a few times per visibility timeout.
        "unacked_restore_interval": max(1, settings.broker_visibility_timeout // 4),
        "unacked_restore_throttle": 1,
        # Fail fast on a dead broker: publishing happens off the request path, into a spool.
        "socket_connect_timeout": settings.broker_timeout_seconds,
        "socket_timeout": 5.0,
    }
