"""The peer: the design most tutorials show, for comparison.

Per request it reads the active versions from Postgres, picks one (the same SHA-256 buckets),
runs the model, and inserts the log row, committing before it answers. Same tables, same model.
`gunicorn bench.peer_app:app` with DATABASE_URL set.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request

from webapp.config import normalize_database_url
from webapp.extensions import db
from webapp.inference import build_predictor
from webapp.latency import latency_bucket
from webapp.models import ModelVersion, PredictionLog

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(os.environ["DATABASE_URL"])
db.init_app(app)
predictors = {}


@app.post("/predict")
def predict():
    body = request.get_json()
    active = ModelVersion.query.filter_by(status="active").order_by(ModelVersion.activated_at).all()
    user_id = body.get("user_id")
    if user_id is not None:
        position = int(hashlib.sha256(f"sentiment:{user_id}".encode()).hexdigest(), 16) % 100
    else:
        position = random.randrange(100)
    chosen, bound = active[-1], 0
    for version in active:
        bound += version.traffic_percent
        if position < bound:
            chosen = version
            break
    predictor = predictors.get(chosen.id) or predictors.setdefault(
        chosen.id, build_predictor(chosen.algorithm, chosen.params)
    )
    started = time.perf_counter()
    sentiment = predictor.predict(body["text"])
    latency_ms = round((time.perf_counter() - started) * 1000, 4)
    log = PredictionLog(
        prediction_id=uuid.uuid4(),
        model_id=chosen.id,
        model_version=chosen.version,
        user_id=user_id,
        text=body["text"],
        prediction=sentiment.label,
        confidence=round(sentiment.confidence, 4),
        polarity=round(sentiment.polarity, 4),
        subjectivity=round(sentiment.subjectivity, 4),
        latency_ms=latency_ms,
        latency_bucket=latency_bucket(latency_ms),
        routing="sticky" if user_id is not None else "random",
        bucket=position if user_id is not None else None,
        created_at=datetime.now(UTC),
    )
    db.session.add(log)
    db.session.commit()
    return jsonify(
        prediction=sentiment.label,
        confidence=log.confidence,
        model_version=chosen.version,
        prediction_id=str(log.prediction_id),
    )
