"""Helpers for the rollout tests: start one over HTTP, seed materialized numbers, evaluate in process."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient

from webapp.experiments.models import AllocationCount, OutcomeStats
from webapp.extensions import db
from webapp.latency import latency_bucket
from webapp.models import LatencyHistogram, ModelStats
from webapp.rollouts.evaluate import evaluate_all

LABELS = ("positive", "negative", "neutral")
ROUTINGS = ("sticky", "random", "explicit", "shadow")


def start(client: FlaskClient, name: str = "sentiment", **plan) -> dict:
    response = client.post(f"/models/{name}/rollouts", json={"candidate": "2.0.0", **plan})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def shares(client: FlaskClient, name: str = "sentiment") -> dict[str, float]:
    body = client.get(f"/models/{name}/split").get_json()
    return {version["version"]: version["traffic_percent"] for version in body["versions"]}


def seed(app: Flask, model_id: str, *, routed=0, config_version=0, labelled=0, correct=0, requests=0, p95=None):
    """Write materialized numbers for a version, as the stats refresh would have."""
    with app.app_context():
        key = uuid.UUID(model_id)
        if routed:
            row = db.session.get(AllocationCount, (key, config_version))
            if row is None:
                row = AllocationCount(model_id=key, config_version=config_version, sticky_count=0, random_count=0)
                db.session.add(row)
            row.random_count += routed
        if labelled:
            db.session.merge(
                OutcomeStats(model_id=key, feedback_count=labelled, labelled_count=labelled, correct_count=correct,
                             reward_count=0, reward_sum=Decimal(0), reward_sum_squares=Decimal(0))
            )  # fmt: skip
        if requests:
            counts = {f"{name}_count": 0 for name in (*LABELS, *ROUTINGS)}
            totals = {"latency_sum": Decimal(requests), "latency_sum_squares": Decimal(requests)}
            stats = ModelStats(model_id=key, request_count=requests, confidence_sum=Decimal(0), p95_latency=p95)
            db.session.merge(stats_with(stats, {**counts, **totals}))
            if p95 is not None:  # every request at the p95: its confidence bounds are the p95 itself
                db.session.merge(LatencyHistogram(model_id=key, bucket=latency_bucket(p95), count=requests))
        db.session.commit()


def evaluate(app: Flask) -> list:
    """One evaluation pass on the materialized numbers as they are (no refresh)."""
    with app.app_context():
        outcomes = evaluate_all(5000, on_commit=app.extensions["router"].publish_from_database, refresh=False)
        db.session.remove()
        return outcomes


def stats_with(stats: ModelStats, values: dict) -> ModelStats:
    for name, value in values.items():
        setattr(stats, name, value)
    return stats
