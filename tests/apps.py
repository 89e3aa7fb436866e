"""Building, resetting and stopping apps under test."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from psycopg2.errors import DeadlockDetected
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from webapp.config import Settings
from webapp.extensions import db

# Tables holding one row the app keeps (reset below, not emptied); every other table is emptied.
SINGLETON_TABLES = ("routing_state", "stats_cursor")


def data_tables() -> list[str]:
    return [name for name in db.metadata.tables if name not in SINGLETON_TABLES]


def make_settings(instance_dir: Path, **overrides: object) -> Settings:
    """Settings for an app under test: nothing leaks in from the developer's environment."""
    return Settings.from_env({}, **{"INSTANCE_DIR": str(instance_dir), "CONFIG_POLL_SECONDS": 0.1, **overrides})


def reset_state(app: Flask) -> None:
    """Empty every table and the routing cache, keeping the schema and the broker's queues."""
    with app.app_context():
        # The app's own routing loader may be reading splits and versions as the TRUNCATE takes its
        # locks in another order; Postgres then ends one of the two, and the reset is simply tried again.
        for attempt in range(5):
            try:
                _empty_tables()
                break
            except OperationalError as error:
                db.session.rollback()
                if not isinstance(error.orig, DeadlockDetected) or attempt == 4:
                    raise
    cache = app.extensions["redis"]
    if cache is not None:
        for key in cache.scan_iter("router:*"):
            cache.delete(key)


def _empty_tables() -> None:
    db.session.execute(text(f"TRUNCATE {', '.join(data_tables())}"))
    db.session.execute(text("UPDATE routing_state SET version = 0"))
    db.session.execute(text("UPDATE stats_cursor SET position = 0, feedback_position = 0, refreshed_at = NULL"))
    db.session.execute(text("UPDATE stats_cursor SET rows_last_refresh = 0"))
    db.session.commit()


def shutdown(app: Flask) -> None:
    """Stop an app's background threads and close its connections."""
    app.extensions["router"].stop()
    app.extensions["log_buffer"].close()
    app.extensions["error_buffer"].close()
    with app.app_context():
        db.engine.dispose()
