"""Settings from the environment, typed, shared by the web app, the worker and the CLI.

With nothing set, an embedded default serves a laptop: the PostgreSQL that `make run` starts under
`instance/` (`webapp/embedded.py`), an in-process routing-config cache and Celery on that PostgreSQL
(kombu's SQLAlchemy transport). With `DATABASE_URL`, `REDIS_URL` and `CELERY_BROKER_URL` set, those
are used. A bad value stops the start with a message naming the variable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

from .embedded import EmbeddedUrls, read_urls

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
# What a Host header names when the client reached this machine's own loopback interface.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


class ConfigError(RuntimeError):
    """A setting in the environment is missing or malformed."""


def normalize_database_url(url: str) -> str:
    """Pin Postgres URLs to psycopg2, the driver we install.

    SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which is not installed; Heroku-style
    `postgres://` is not recognised at all.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _split_keys(value: str | None) -> frozenset[str]:
    return frozenset(key.strip() for key in (value or "").split(",") if key.strip())


# A comma-separated list, parsed by the validators below rather than decoded as JSON.
KeyList = Annotated[frozenset[str], NoDecode]

# The environment `Settings.from_env` reads while it builds a Settings; None: the process's own.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("environ", default=None)


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over the mapping `from_env` was given, or os.environ.

    An explicit mapping is read instead of the process environment, never merged with it, so a
    test's settings are what it wrote whatever the developer's shell exports.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        return super()._load_env_vars() if environ is None else dict(environ)


def host_name(host: str) -> str:
    """The name in a Host header, lower-cased, without its port: `[::1]:8000` -> `[::1]`."""
    if ":" in host and not host.endswith("]"):
        host = host.rpartition(":")[0]
    return host.lower()


class Settings(BaseSettings):
    """Every setting the service reads. Field aliases are the environment variable names."""

    # Names match exactly, as the shell spells them; no .env file or secrets directory is read.
    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore", case_sensitive=True)

    instance_dir: Path = Field(DEFAULT_INSTANCE_DIR, alias="INSTANCE_DIR")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    celery_broker_url: str | None = Field(None, alias="CELERY_BROKER_URL")
    stats_refresh_seconds: float = Field(10.0, gt=0, alias="STATS_REFRESH_SECONDS")
    # How often the beat task judges active rollouts (and refreshes the stats first).
    rollout_evaluate_seconds: float = Field(10.0, gt=0, le=10.0, alias="ROLLOUT_EVALUATE_SECONDS")

    # How often each web process checks the routing-config version (Redis key or database row).
    config_poll_seconds: float = Field(0.5, gt=0, le=1.0, alias="CONFIG_POLL_SECONDS")
    # The log buffer ships a batch every interval, or sooner once it holds this many records.
    log_flush_seconds: float = Field(1.0, gt=0, alias="LOG_FLUSH_SECONDS")
    log_batch_size: int = Field(1000, ge=1, le=10_000, alias="LOG_BATCH_SIZE")
    # A worker that keeps up feeds each batch's COPY 4 KiB at a time, pausing this long after each
    # slice, so the database's work for a batch comes in small pieces (webapp/logpipe/pacing.py). 0: off.
    log_copy_pause_ms: float = Field(0.7, ge=0, le=100, alias="LOG_COPY_PAUSE_MS")
    # Records that cannot be published wait in a file per web process, up to this many.
    spool_dir: Path | None = Field(None, alias="SPOOL_DIR")
    spool_max_records: int = Field(200_000, ge=0, alias="SPOOL_MAX_RECORDS")
    # ...and up to this many bytes (per process and stream): 200,000 typical rows take 40-80 MB, but rows
    # with 5,000-character texts would take 1 GB; past either bound a batch is dropped whole and counted.
    spool_max_bytes: int = Field(256 * 1024 * 1024, ge=0, alias="SPOOL_MAX_BYTES")
    # Longest a connection to the broker may take (an AMQP handshake on a busy machine takes some of it).
    # A dead broker refuses at once; this bounds one that does not answer.
    broker_timeout_seconds: float = Field(2.0, gt=0, alias="BROKER_TIMEOUT_SECONDS")
    # RabbitMQ: longest the shipping thread waits for the broker to confirm a batch before it spools it.
    broker_confirm_timeout_seconds: float = Field(5.0, gt=0, alias="BROKER_CONFIRM_TIMEOUT_SECONDS")
    # Unacknowledged tasks come back after this long if a worker dies holding them: at least twice the
    # longest wait between two retries of a write (webapp/tasks.py), or a waiting retry is handed out twice.
    broker_visibility_timeout: int = Field(60, ge=60, alias="BROKER_VISIBILITY_TIMEOUT")

    # Day partitions of the prediction log made ahead of time, and how many whole days of rows are kept.
    log_partitions_ahead_days: int = Field(7, ge=1, le=90, alias="LOG_PARTITIONS_AHEAD_DAYS")
    log_retention_days: int = Field(30, ge=1, alias="LOG_RETENTION_DAYS")
    # How often beat creates the coming partitions and drops expired ones.
    log_maintenance_seconds: float = Field(3600.0, gt=0, alias="LOG_MAINTENANCE_SECONDS")

    # Feedback whose prediction log has not arrived after this long is reported as orphaned.
    feedback_orphan_seconds: float = Field(3600.0, gt=0, alias="FEEDBACK_ORPHAN_SECONDS")
    # The sequential tests are tightest at this many labelled predictions (all arms together).
    sequential_target_n: int = Field(5000, ge=100, alias="SEQUENTIAL_TARGET_N")

    # The Celery worker serves its Prometheus metrics on this port (unset: not served).
    metrics_port: int | None = Field(None, ge=1, le=65535, alias="METRICS_PORT")
    # "json": one JSON object per log line (production); "text": human-readable lines.
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    # One access-log line per request (request id, route, status, duration): a write per request.
    log_requests: bool = Field(False, alias="LOG_REQUESTS")
    # Answer well-formed /predict requests ahead of Flask's dispatch (webapp/predict/fastpath.py).
    # Off: every request goes through Flask, as a comparison or to rule the fast path out.
    predict_fast_path: bool = Field(True, alias="PREDICT_FAST_PATH")

    # Largest model file `PUT /models/<id>/artifact` takes. A TF-IDF (1-2 grams) + logistic regression
    # pipeline fitted on the two shared sets is 10 MB with min_df=2 and 47 MB without it; 64 MiB admits
    # both, and bounds what one upload writes to Postgres and what each web process holds per version.
    artifact_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, alias="ARTIFACT_MAX_BYTES")
    # Longest one probe text may take when an uploaded model is checked: past it the file is refused.
    artifact_probe_budget_ms: float = Field(100.0, gt=0, alias="ARTIFACT_PROBE_BUDGET_MS")

    # Webhooks may be delivered to loopback, private and link-local addresses (tests, a receiver on
    # the same private network). Off: a webhook URL cannot make the worker reach inside the network.
    webhook_allow_private_addresses: bool = Field(False, alias="WEBHOOK_ALLOW_PRIVATE_ADDRESSES")

    admin_api_keys: KeyList = Field(frozenset(), alias="ADMIN_API_KEYS")
    predict_api_keys: KeyList = Field(frozenset(), alias="PREDICT_API_KEYS")
    read_api_keys: KeyList = Field(frozenset(), alias="READ_API_KEYS")
    # Production: refuse to start while any of the three key lists is empty (an open scope).
    require_api_keys: bool = Field(False, alias="REQUIRE_API_KEYS")
    # Host names (any port) the web app answers; `*`: any. Empty: the loopback names while
    # ADMIN_API_KEYS is empty (no DNS rebinding onto an open laptop service), any once it is set.
    allowed_hosts: KeyList = Field(frozenset(), alias="ALLOWED_HOSTS")

    @field_validator("admin_api_keys", "predict_api_keys", "read_api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return _split_keys(value) if isinstance(value, str) or value is None else value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        if isinstance(value, str) or value is None:
            return frozenset(host_name(name) for name in _split_keys(value))
        return value

    @field_validator("database_url", "redis_url", "celery_broker_url", "spool_dir", "metrics_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword overrides, then the environment `from_env` was given (or the process's)."""
        return init_settings, _EnvironSource(settings_cls)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from `environ` (default: os.environ, and only then); keyword overrides win."""
        token = _ENVIRON.set(environ)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(f"{_env_name(cls, err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))
            raise ConfigError(f"invalid configuration: {problems}") from None
        finally:
            _ENVIRON.reset(token)

    @property
    def embedded(self) -> bool:
        """True when running on the laptop default: the embedded PostgreSQL that `make run` started."""
        return self.database_url is None

    @property
    def sqlalchemy_database_uri(self) -> str:
        """DATABASE_URL, else the embedded PostgreSQL running under INSTANCE_DIR."""
        return normalize_database_url(self.database_url or self.embedded_database().database_url)

    @property
    def broker_url(self) -> str:
        """CELERY_BROKER_URL, else REDIS_URL, else kombu's SQLAlchemy transport on the Postgres in use:
        DATABASE_URL's database, or the embedded PostgreSQL's broker database."""
        if self.celery_broker_url:
            return self.celery_broker_url
        if self.redis_url:
            return self.redis_url
        if self.database_url:
            return "sqla+" + normalize_database_url(self.database_url)
        return self.embedded_database().broker_url

    def embedded_database(self) -> EmbeddedUrls:
        """The URLs `make run` publishes under INSTANCE_DIR while its embedded PostgreSQL runs."""
        urls = read_urls(self.instance_dir)
        if urls is None:
            raise ConfigError(
                f"DATABASE_URL is unset and no embedded PostgreSQL is running under INSTANCE_DIR={self.instance_dir}: "
                "start one with `make run` (or `python -m webapp.devserver`), or set DATABASE_URL"
            )
        return urls

    @property
    def broker_kind(self) -> str:
        """rabbitmq, redis, or embedded (kombu's SQLAlchemy transport on Postgres)."""
        scheme = self.broker_url.split("://", 1)[0]
        if scheme in ("amqp", "amqps", "pyamqp"):
            return "rabbitmq"
        if scheme in ("redis", "rediss"):
            return "redis"
        return "embedded" if scheme.startswith("sqla") else scheme

    @property
    def spool_path(self) -> Path:
        """SPOOL_DIR (default INSTANCE_DIR/spool), one directory per database: records spooled while
        writing to one database are re-published to that database only, never to the next one the
        same instance directory is pointed at."""
        return (self.spool_dir or self.instance_dir / "spool") / self.database_key

    @property
    def database_key(self) -> str:
        """`embedded`, or a short hash of DATABASE_URL without its password (it names a directory)."""
        if not self.database_url:
            return "embedded"
        url = make_url(normalize_database_url(self.database_url))
        where = f"{url.username}@{url.host}:{url.port}/{url.database}?{sorted(url.query.items())}"
        return "db-" + hashlib.sha256(where.encode()).hexdigest()[:12]

    def missing_required_keys(self) -> list[str]:
        """With REQUIRE_API_KEYS, the key variables left empty (each leaves a scope open)."""
        if not self.require_api_keys:
            return []
        lists = {
            "ADMIN_API_KEYS": self.admin_api_keys,
            "PREDICT_API_KEYS": self.predict_api_keys,
            "READ_API_KEYS": self.read_api_keys,
        }
        return [name for name, keys in lists.items() if not keys]

    @property
    def served_hosts(self) -> frozenset[str] | None:
        """The Host names (without port) the web app answers; None: any."""
        if "*" in self.allowed_hosts:
            return None
        if self.allowed_hosts:
            return self.allowed_hosts
        return LOOPBACK_HOSTS if not self.admin_api_keys else None

    @property
    def open_access(self) -> bool:
        """True when no API keys are configured at all."""
        return not (self.admin_api_keys or self.predict_api_keys or self.read_api_keys)


def _env_name(settings_cls: type[Settings], loc: tuple[int | str, ...]) -> str:
    field = settings_cls.model_fields.get(str(loc[0])) if loc else None
    return (field.alias if field and field.alias else str(loc[0])) if loc else "settings"
