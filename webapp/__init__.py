"""The web app factory: `create_app()` wires settings, extensions, blueprints, errors and commands."""

from __future__ import annotations

import logging

import redis
from flask import Flask

from .config import PROJECT_ROOT, ConfigError, Settings
from .errors import register_error_handlers
from .extensions import db, migrate
from .http import MAX_BODY_BYTES, require_json_body
from .logs import configure_logging

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: the environment)."""
    settings = settings or Settings.from_env()
    refuse_open_production(settings)
    app = Flask(__name__, instance_path=str(settings.instance_dir), static_folder=None)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_database_uri,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}},
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.json.sort_keys = False  # keep fields in the order the schemas declare them
    app.extensions["settings"] = settings
    configure_logging(settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    # No cross-site writes: a state-changing call must send its body as JSON (webapp/http.py).
    app.before_request(require_json_body)
    register_request_hooks(app, settings)
    register_commands(app)
    _announce(settings)
    app.extensions["keys"].announce()
    return app


def refuse_open_production(settings: Settings) -> None:
    """With REQUIRE_API_KEYS, stop before anything starts if any scope would be open."""
    missing = settings.missing_required_keys()
    if missing:
        raise ConfigError(
            f"REQUIRE_API_KEYS is on but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty: "
            "set at least one key in each, or turn REQUIRE_API_KEYS off"
        )


def register_extensions(app: Flask, settings: Settings) -> None:
    from .artifacts.cache import ArtifactCache
    from .auth import KeyRing
    from .celery_app import init_celery
    from .failures.pipeline import ERRORS
    from .feedback.pipeline import FEEDBACK
    from .logpipe.streams import shipping_buffer
    from .logpipe.wire import PREDICTION_LOGS
    from .routing.router import Router
    from .routing.store import DatabaseConfigStore, RedisConfigStore

    if settings.embedded:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    app.extensions["keys"] = KeyRing(settings)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    celery = init_celery(app, settings)

    redis_client = _redis_client(settings) if settings.redis_url else None
    app.extensions["redis"] = redis_client
    store = RedisConfigStore(redis_client) if redis_client is not None else DatabaseConfigStore()
    # Each host's verified copies of model files; its web processes share the directory.
    app.extensions["artifact_cache"] = artifacts = ArtifactCache(settings.instance_dir / "artifacts")
    app.extensions["router"] = Router(app, store, poll_seconds=settings.config_poll_seconds, artifacts=artifacts)

    app.extensions["spool_dir"] = settings.spool_path
    app.extensions["log_buffer"] = shipping_buffer(celery, settings, PREDICTION_LOGS)
    app.extensions["feedback_buffer"] = shipping_buffer(celery, settings, FEEDBACK)
    app.extensions["error_buffer"] = shipping_buffer(celery, settings, ERRORS)


def register_blueprints(app: Flask) -> None:
    from .audit import bp as audit_bp
    from .dashboard import bp as dashboard_bp
    from .docs import bp as docs_bp
    from .experiments import bp as experiments_bp
    from .feedback import bp as feedback_bp
    from .metrics import bp as metrics_bp
    from .predict import bp as predict_bp
    from .registry import bp as registry_bp
    from .rollouts import bp as rollouts_bp
    from .stats import bp as stats_bp
    from .system import bp as system_bp

    blueprints = (registry_bp, stats_bp, predict_bp, feedback_bp, experiments_bp, system_bp, docs_bp, audit_bp)
    for blueprint in (*blueprints, metrics_bp, dashboard_bp, rollouts_bp):
        app.register_blueprint(blueprint)


def register_request_hooks(app: Flask, settings: Settings) -> None:
    from .predict.fastpath import PredictFastPath
    from .request_hooks import RequestIdAndTimer

    wsgi_app = PredictFastPath(app, app.wsgi_app) if settings.predict_fast_path else app.wsgi_app
    # Outermost: every request, the fast path's too, has its Host checked and gets its id, its timing
    # (labelled by the methods the app routes, anything else as "other") and its access-log line.
    routed_methods = frozenset(method for rule in app.url_map.iter_rules() for method in rule.methods or ())
    app.wsgi_app = RequestIdAndTimer(  # type: ignore[method-assign]
        wsgi_app, settings.log_requests, served_hosts=settings.served_hosts, methods=routed_methods
    )


def register_commands(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)


def _redis_client(settings: Settings) -> redis.Redis:
    # Short timeouts: the routing watcher must notice an outage quickly and keep the last config.
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
    )


def _announce(settings: Settings) -> None:
    if settings.embedded:
        log.info(
            "embedded default: database %s, in-process routing cache, broker %s",
            settings.sqlalchemy_database_uri,
            settings.broker_url,
        )
