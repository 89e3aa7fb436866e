"""Settings: read from the environment given, typed, and refused with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.config import ConfigError, Settings


def test_an_explicit_environment_is_read_instead_of_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_KEYS", "from-the-shell")
    monkeypatch.setenv("LOG_BATCH_SIZE", "7")
    settings = Settings.from_env({"READ_API_KEYS": "r"})
    assert settings.admin_api_keys == frozenset()
    assert settings.log_batch_size == 1000
    assert Settings.from_env().admin_api_keys == {"from-the-shell"}
    assert Settings.from_env().log_batch_size == 7


def test_key_lists_are_comma_separated_not_json() -> None:
    settings = Settings.from_env(
        {"ADMIN_API_KEYS": " a, b,,c ", "PREDICT_API_KEYS": '["x"]', "ALLOWED_HOSTS": "A.example:8000,b"}
    )
    assert settings.admin_api_keys == {"a", "b", "c"}
    assert settings.predict_api_keys == {'["x"]'}
    assert settings.allowed_hosts == {"a.example", "b"}


def test_keyword_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"CONFIG_POLL_SECONDS": "0.9"}, CONFIG_POLL_SECONDS=0.1)
    assert settings.config_poll_seconds == 0.1


def test_blank_urls_are_unset() -> None:
    settings = Settings.from_env({"DATABASE_URL": "  ", "METRICS_PORT": "", "SPOOL_DIR": ""})
    assert (settings.database_url, settings.metrics_port, settings.spool_dir) == (None, None, None)


def test_a_bad_value_names_every_variable_at_fault() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"LOG_BATCH_SIZE": "0", "LOG_FORMAT": "xml"})
    message = str(refused.value)
    assert message.startswith("invalid configuration: ")
    assert "LOG_BATCH_SIZE: Input should be greater than or equal to 1" in message
    assert "LOG_FORMAT: " in message


def test_records_spooled_for_one_database_are_never_republished_to_another():
    """Each database gets its own spool directory under SPOOL_DIR; a password change keeps it."""
    embedded = Settings.from_env({"INSTANCE_DIR": "/srv/router"})
    first = Settings.from_env({"INSTANCE_DIR": "/srv/router", "DATABASE_URL": "postgresql://app:one@db:5432/router"})
    rotated = Settings.from_env({"INSTANCE_DIR": "/srv/router", "DATABASE_URL": "postgresql://app:two@db:5432/router"})
    other = Settings.from_env({"INSTANCE_DIR": "/srv/router", "DATABASE_URL": "postgresql://app:one@db:5432/staging"})
    assert embedded.spool_path == Path("/srv/router/spool/embedded")
    assert first.spool_path.parent == Path("/srv/router/spool")
    assert first.spool_path == rotated.spool_path
    assert len({embedded.spool_path, first.spool_path, other.spool_path}) == 3
    assert "one" not in str(first.spool_path)
