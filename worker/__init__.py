"""The worker entry point: `celery -A worker worker` and `celery -A worker beat`."""

from celery.signals import worker_process_init

from webapp import create_app
from webapp.extensions import db

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_: object) -> None:
    # A forked pool process must not share the parent's database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)
