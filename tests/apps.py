"""Building, resetting and stopping apps under test."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import text

from webapp.config import Settings
from webapp.extensions import db

DATA_TABLES = (
    "model_versions",
    "prediction_logs",
    "model_stats",
    "latency_histogram",
    "feedback",
    "outcome_stats",
    "confusion_cells",
    "allocation_counts",
    "allocation_users",
    "routing_splits",
    "splits",
    "audit_log",
    "prediction_minutes",
    "rollouts",
    "rollout_events",
    "bandits",
    "shadow_pairs",
    "shadow_comparisons",
)


def make_settings(instance_dir: Path, **overrides: object) -> Settings:
    """Settings for an app under test: nothing leaks in from the developer's environment."""
    return Settings.from_env({}, **{"INSTANCE_DIR": str(instance_dir), "CONFIG_POLL_SECONDS": 0.1, **overrides})


def reset_state(app: Flask) -> None:
    """Empty every table and the routing cache, keeping the schema and the broker's queues."""
    with app.app_context():
        db.session.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)}"))
        db.session.execute(text("UPDATE routing_state SET version = 0"))
        db.session.execute(text("UPDATE stats_cursor SET position = 0, feedback_position = 0, refreshed_at = NULL"))
        db.session.execute(text("UPDATE stats_cursor SET rows_last_refresh = 0"))
        db.session.commit()
    cache = app.extensions["redis"]
    if cache is not None:
        for key in cache.scan_iter("router:*"):
            cache.delete(key)


def shutdown(app: Flask) -> None:
    """Stop an app's background threads and close its connections."""
    app.extensions["router"].stop()
    app.extensions["log_buffer"].close()
    with app.app_context():
        db.engine.dispose()
