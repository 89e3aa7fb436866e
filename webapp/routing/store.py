"""Where web processes look for the routing configuration between database reads.

With Redis, the serialized configuration and its version live under two keys; a process polls the
small version key and fetches the configuration only when it changed. Without Redis (the embedded
default) the database's version row plays the same part and every process holds its own copy.
"""

from __future__ import annotations

import json
from typing import Protocol

import redis

from .config import RoutingConfig, current_version, read_config

VERSION_KEY = "router:config:version"
CONFIG_KEY = "router:config"

# Publish only if newer: two registry changes racing to the cache must not leave the older one.
_PUBLISH_IF_NEWER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class ConfigStore(Protocol):
    name: str

    def version(self) -> int | None:
        """The published version, or None if nothing is published."""

    def load(self) -> RoutingConfig | None:
        """The published configuration, or None if nothing is published."""

    def publish(self, config: RoutingConfig) -> bool:
        """Make `config` current unless a newer one is already published."""


class RedisConfigStore:
    """The configuration cached in Redis, shared by every web process."""

    name = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._publish_script = client.register_script(_PUBLISH_IF_NEWER)

    def version(self) -> int | None:
        raw = self.client.get(VERSION_KEY)
        return None if raw is None else int(raw)

    def load(self) -> RoutingConfig | None:
        raw = self.client.get(CONFIG_KEY)
        return None if raw is None else json.loads(raw)

    def publish(self, config: RoutingConfig) -> bool:
        payload = json.dumps(config, separators=(",", ":"))
        return bool(self._publish_script(keys=[VERSION_KEY, CONFIG_KEY], args=[config["version"], payload]))


class DatabaseConfigStore:
    """The embedded default: the database is the only shared place, and it is cheap to poll."""

    name = "in-process"

    def version(self) -> int | None:
        return current_version()

    def load(self) -> RoutingConfig | None:
        return read_config()

    def publish(self, config: RoutingConfig) -> bool:
        return True  # the database already holds it
