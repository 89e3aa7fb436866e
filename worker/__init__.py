"""The worker entry point: `celery -A worker worker` and `celery -A worker beat`."""

from celery.signals import setup_logging, worker_init, worker_process_init

from webapp import create_app
from webapp.extensions import db
from webapp.logs import configure_logging
from webapp.metrics.worker import start_metrics_server

flask_app = create_app()
celery = flask_app.extensions["celery"]


def _keep_our_logging(**_: object) -> None:
    configure_logging(flask_app.extensions["settings"])


if flask_app.extensions["settings"].log_format == "json":
    # A receiver stops Celery replacing the root handler, so worker and beat log JSON too.
    setup_logging.connect(_keep_our_logging, weak=False)


@worker_process_init.connect
def _fresh_connections_after_fork(**_: object) -> None:
    # A forked pool process must not share the parent's database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)


@worker_init.connect
def _serve_metrics(**_: object) -> None:
    # The worker, not beat, runs the batch writes and the stats refresh: its metrics are the ones to serve.
    port = flask_app.extensions["settings"].metrics_port
    if port is not None:
        start_metrics_server(port)
