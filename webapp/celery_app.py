"""The Celery app, built from the Flask app so that every task runs in its app context."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

import celeryconfig

from .config import Settings


def init_celery(app: Flask, settings: Settings) -> Celery:
    """Create the Celery app for `app` and keep it in `app.extensions["celery"]`."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(celeryconfig.celery_settings(settings))
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
