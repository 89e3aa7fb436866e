"""The Celery app, built from the Flask app so that every task runs in its app context."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from kombu.utils.imports import symbol_by_name

from .config import Settings

# The Celery settings live in the root `celeryconfig.py`, which imports this package (its settings,
# its task names). It is loaded by name, as Celery loads a config module, so webapp never imports
# it back, just as it sends tasks by name and never imports `worker`.
CELERY_SETTINGS = "celeryconfig:celery_settings"


def init_celery(app: Flask, settings: Settings) -> Celery:
    """Create the Celery app for `app` and keep it in `app.extensions["celery"]`."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(symbol_by_name(CELERY_SETTINGS)(settings))
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
