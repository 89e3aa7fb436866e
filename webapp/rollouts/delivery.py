"""Sending the webhook deliveries: what the worker's task `rollouts.deliver_webhooks` runs.

Each delivery is POSTed as its stored body, signed `X-Signature-256: sha256=<hex HMAC-SHA256(secret,
body)>` (GitHub's scheme), with a short timeout and no redirects followed; a 2xx answer delivers it.
An attempt is claimed first (row lock, attempts + 1, `next_attempt_at` pushed past the retries'
longest wait, committed), so the sweep leaves alone a delivery whose Celery retry is still coming.
A failed attempt raises `DeliveryFailed`, which Celery retries with backoff (RETRY_DELIVERY); after
MAX_ATTEMPTS the delivery is `failed`. The secret is read only to sign: never logged, never stored
in an error.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import utcnow
from .models import RolloutWebhook, WebhookDelivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BACKOFF_MAX_SECONDS = 300
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 5.0
SWEEP_BATCH = 50
SIGNATURE_HEADER = "X-Signature-256"


class DeliveryFailed(Exception):
    """An attempt did not deliver; Celery retries it."""


# The task's Celery options: exponential backoff with full jitter (up to 5, 10, 20 ... 300 s apart).
RETRY_DELIVERY = {
    "autoretry_for": (DeliveryFailed,),
    "retry_backoff": 5,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": MAX_ATTEMPTS,
}


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    url: str
    secret: str
    body: str
    attempts: int


def signature(secret: str, body: bytes) -> str:
    """The X-Signature-256 header's value for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(delivery_id: int, *, due_only: bool = False) -> str:
    """One attempt at one delivery: "delivered", "failed" (attempts used up), "skipped"; DeliveryFailed to retry.

    `due_only` (the sweep): only if no attempt has claimed it since it was found due, so a sweep and a
    retry, or two sweeps, never post it twice.
    """
    claim = _claim(delivery_id, due_only)
    if claim is None:
        return "skipped"  # delivered or given up already, or another attempt holds it right now
    error = refused_destination(claim.url) or _post(claim)
    final = error is not None and claim.attempts >= MAX_ATTEMPTS
    _record(delivery_id, error, final)
    if error is None:
        return "delivered"
    log.info("webhook delivery %s, attempt %s of %s: %s", delivery_id, claim.attempts, MAX_ATTEMPTS, error)
    if final:
        return "failed"
    raise DeliveryFailed(error)


def sweep_deliveries() -> dict[str, int]:
    """Attempt every pending delivery no task is retrying (its `next_attempt_at` passed), a batch at a time."""
    due = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
            .order_by(WebhookDelivery.id)
            .limit(SWEEP_BATCH)
        )
    )
    db.session.rollback()
    counts = {"delivered": 0, "failed": 0, "skipped": 0, "retrying": 0}
    for delivery_id in due:
        try:
            counts[deliver(delivery_id, due_only=True)] += 1
        except DeliveryFailed:
            counts["retrying"] += 1  # the next sweep tries again once next_attempt_at has passed
    return counts


def _claim(delivery_id: int, due_only: bool) -> Claim | None:
    query = (
        select(WebhookDelivery, RolloutWebhook)
        .join(RolloutWebhook, RolloutWebhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending")
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    if due_only:
        query = query.where(WebhookDelivery.next_attempt_at <= utcnow())
    row = db.session.execute(query).one_or_none()
    if row is None:
        db.session.rollback()
        return None
    delivery, hook = row
    delivery.attempts += 1
    # Past the longest retry countdown: the sweep takes it only if this attempt's retry was lost.
    delivery.next_attempt_at = utcnow() + timedelta(seconds=RETRY_BACKOFF_MAX_SECONDS + 60)
    claim = Claim(delivery.id, hook.url, hook.secret, delivery.body, delivery.attempts)
    db.session.commit()
    return claim


def _post(claim: Claim) -> str | None:
    """POST the body; None when answered 2xx, else what went wrong in plain words (never the secret)."""
    body = claim.body.encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(claim.secret, body),
               "X-Delivery-Id": str(claim.delivery_id), "User-Agent": "model-router-webhooks"}  # fmt: skip
    try:
        answer = requests.post(
            claim.url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False
        )
    except requests.Timeout:
        return f"no answer within {CONNECT_TIMEOUT:g} s to connect or {READ_TIMEOUT:g} s to answer"
    except requests.ConnectionError:
        return "could not connect to the receiver"
    except requests.RequestException:
        return "the request could not be sent"
    if 200 <= answer.status_code < 300:
        return None
    return f"the receiver answered {answer.status_code}"


def refused_destination(url: str) -> str | None:
    """Why the worker will not connect to this URL's host, or None.

    Every address the host resolves to must be public, unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
    a rollout's webhook must not make the worker reach a metadata service or an internal port.
    The name is resolved again when requests connects; a DNS answer that changes in between is
    the one case left (docs/rollouts.md).
    """
    if current_app.extensions["settings"].webhook_allow_private_addresses:
        return None
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return "its host name does not resolve"
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not address.is_global:
            return "its host is a private, loopback or link-local address, where deliveries are not sent"
    return None


def _record(delivery_id: int, error: str | None, final: bool) -> None:
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if error is None:
        delivery.status, delivery.last_error, delivery.delivered_at = "delivered", None, utcnow()
    else:
        delivery.status, delivery.last_error = ("failed" if final else "pending"), error
    db.session.commit()
