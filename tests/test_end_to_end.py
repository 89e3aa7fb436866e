"""Predictions travel from the request through a real Celery worker into Postgres and the stats."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.api import predict, two_versions
from tests.support import wait_for
from webapp.extensions import db
from webapp.models import PredictionLog

pytestmark = pytest.mark.slow


def stored_ids(app, prediction_ids: list[str]) -> set[str]:
    with app.app_context():
        wanted = [uuid.UUID(pid) for pid in prediction_ids]
        found = db.session.scalars(select(PredictionLog.prediction_id).where(PredictionLog.prediction_id.in_(wanted)))
        return {str(pid) for pid in found}


def test_predictions_land_in_postgres_once_and_then_in_stats(app, client, celery_worker):
    model_ids = [uuid.UUID(model_id) for model_id in two_versions(client, 50, 50)]
    answers = [predict(client, "I love this!", user_id="user_123") for _ in range(5)]
    answers += [predict(client, text, user_id=f"user-{n}") for n, text in enumerate(["Great!", "Awful.", "Meh"] * 30)]
    answers += [predict(client, "Great product!") for _ in range(25)]
    ids = [answer["prediction_id"] for answer in answers]

    wait_for(lambda: stored_ids(app, ids) == set(ids), timeout=30, what="every prediction in Postgres")
    with app.app_context():
        logged = select(func.count()).select_from(PredictionLog).where(PredictionLog.model_id.in_(model_ids))
        assert db.session.scalar(logged) == len(ids)
        row = db.session.scalar(select(PredictionLog).where(PredictionLog.prediction_id == uuid.UUID(ids[0])))
        assert (row.user_id, row.text, row.routing, row.bucket) == ("user_123", "I love this!", "sticky", 80)
        assert (row.prediction, row.model_version) == (answers[0]["prediction"], answers[0]["model_version"])

    def counted_after_a_refresh() -> int:
        # As beat would, ask again: a refresh sees rows up to the oldest transaction still running
        # anywhere on this Postgres, so one refresh alone may leave the newest rows for the next.
        assert client.post("/models/stats/refresh", json={}).status_code == 202
        return sum(entry["request_count"] for entry in client.get("/models/stats").get_json())

    wait_for(lambda: counted_after_a_refresh() == len(ids), timeout=30, interval=1, what="every prediction counted")
    by_version = {e["model_version"]: e for e in client.get("/models/stats").get_json()}
    for version, entry in by_version.items():
        served = [a for a in answers if a["model_version"] == version]
        assert entry["request_count"] == len(served)
        assert entry["avg_confidence"] == pytest.approx(sum(a["confidence"] for a in served) / len(served), abs=1e-4)
        assert entry["avg_latency"] == pytest.approx(sum(a["latency_ms"] for a in served) / len(served), abs=1e-4)
