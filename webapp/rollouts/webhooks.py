"""Rollout webhooks: the URL rules, the outbox each transition writes to, and what GET /rollouts shows.

A transition adds one delivery row per webhook of its rollout in its own transaction (an outbox):
committed together, or not at all. After the commit a task is sent per delivery; the worker posts
them (`delivery.py`), and a beat sweep sends whatever no task took (the broker or the worker was
down). Nothing here makes an HTTP call, and the secret never leaves the table but to sign.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..logpipe.publisher import BROKER_ERRORS
from ..models import ModelVersion
from ..tasks import DELIVER_WEBHOOKS_TASK
from .models import Rollout, RolloutWebhook, WebhookDelivery

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2000
# A delivery whose task never ran (the broker was down at the commit) is the sweep's after this long.
SWEEP_GRACE_SECONDS = 30
EVENTS = {
    "start": "started",
    "advance": "step",
    "gate": "gate",
    "promote": "promoted",
    "pause": "paused",
    "resume": "resumed",
    "complete": "completed",
    "rollback": "rolled_back",
    "abort": "aborted",
}


def url_problem(url: str) -> str | None:
    """Why a webhook URL is refused, in plain words; None when it is fine."""
    if len(url) > MAX_URL_LENGTH:
        return f"a webhook URL must be at most {MAX_URL_LENGTH:,} characters; this one has {len(url):,}"
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "a webhook URL must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "a webhook URL must be a valid http:// or https:// address with a port from 1 to 65535, if any"
    if parts.scheme not in ("http", "https"):
        return "a webhook URL must start with http:// or https://"
    if not parts.hostname:
        return "a webhook URL must name a host, as in https://hooks.example.com/rollouts"
    if parts.username is not None or parts.password is not None:
        return "a webhook URL must not carry a user name or password: deliveries are signed with the secret instead"
    if port == 0:
        return "a webhook URL's port must be from 1 to 65535"
    return None


def add_webhooks(rollout: Rollout, webhooks: list[tuple[str, str]]) -> None:
    """Attach (url, secret) pairs to a new rollout, in its transaction."""
    for url, secret in webhooks:
        db.session.add(RolloutWebhook(rollout_id=rollout.id, url=url, secret=secret))


def queue_deliveries(rollout: Rollout, action: str, percent: float, reason: str, at: datetime) -> list[int]:
    """Write one delivery per webhook of the rollout for this transition, uncommitted; their ids."""
    hooks = list(db.session.scalars(select(RolloutWebhook).where(RolloutWebhook.rollout_id == rollout.id)))
    if not hooks:
        return []
    body = json.dumps(_payload(rollout, EVENTS[action], percent, reason, at), separators=(",", ":"))
    rows = [
        WebhookDelivery(webhook_id=hook.id, event=EVENTS[action], body=body, status="pending", attempts=0,
                        next_attempt_at=at + timedelta(seconds=SWEEP_GRACE_SECONDS), created_at=at)
        for hook in hooks
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.flush()
    return [row.id for row in rows]


def _payload(rollout: Rollout, event: str, percent: float, reason: str, at: datetime) -> dict:
    labels = dict(
        db.session.execute(
            select(ModelVersion.id, ModelVersion.version).where(
                ModelVersion.id.in_([rollout.candidate_id, rollout.baseline_id])
            )
        ).all()
    )
    return {
        "event": event,
        "rollout_id": rollout.id,
        "model": rollout.model_name,
        "candidate": labels.get(rollout.candidate_id),
        "baseline": labels.get(rollout.baseline_id),
        "percent": percent,
        "reason": reason,
        "at": at.isoformat(),
    }


def send_queued(delivery_ids: list[int]) -> None:
    """After the commit: one task per delivery. A broker that is down loses nothing; the sweep sends them."""
    if not delivery_ids:
        return
    celery = current_app.extensions["celery"]
    try:
        for delivery_id in delivery_ids:
            celery.send_task(DELIVER_WEBHOOKS_TASK, args=[delivery_id], retry=False)
    except BROKER_ERRORS as exc:  # the deliveries are committed: the sweep takes them
        log.warning("webhook deliveries %s left to the sweep: the broker did not take them (%s)", delivery_ids, exc)


def webhooks_out(rollout_id: int) -> list[dict]:
    """Each webhook's URL and its deliveries, oldest first; never the secret."""
    hooks = db.session.scalars(
        select(RolloutWebhook).where(RolloutWebhook.rollout_id == rollout_id).order_by(RolloutWebhook.id)
    ).all()
    if not hooks:
        return []
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id.in_([hook.id for hook in hooks]))
        .order_by(WebhookDelivery.id)
    ).all()
    by_hook: dict[int, list[dict]] = {hook.id: [] for hook in hooks}
    for d in deliveries:
        by_hook[d.webhook_id].append(
            {"event": d.event, "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
             "delivered_at": d.delivered_at}
        )  # fmt: skip
    return [{"url": shown_url(hook.url), "deliveries": by_hook[hook.id]} for hook in hooks]


def shown_url(url: str) -> str:
    """The URL as GET /rollouts/<id> shows it: scheme and host only, since receivers often carry their
    token in the path (a Slack hook does)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") or parts.query else url
