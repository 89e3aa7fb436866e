"""CPU time by kind of process during a measured turn: where the cost of a request goes.

Read from /proc before and after the load: gunicorn (web), the Celery worker and beat, every
Postgres, RabbitMQ and Redis process on the machine, and wrk itself (a reaped child of this process, so its
time comes from getrusage). Shown per request, so that servers with different rates compare.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
KINDS = ("web", "worker", "beat", "postgres", "rabbitmq", "redis", "load")


def _kind(command: str) -> str | None:
    if "gunicorn" in command:
        return "web"
    if "celery" in command:
        return "beat" if " beat" in command else "worker"
    if command.startswith("postgres"):
        return "postgres"
    if command.startswith("redis-server"):
        return "redis"
    if "beam.smp" in command and "rabbit" in command:
        return "rabbitmq"
    return None


def _processes() -> dict[int, tuple[str, float]]:
    """pid -> (kind, CPU seconds so far) for every process of a kind we account for."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        kind = _kind(command)
        if kind is not None:
            fields = stat[stat.rindex(")") + 2 :].split()
            found[int(entry.name)] = (kind, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuMeter:
    """`start()` before the load, `stop(requests)` after: CPU µs per request by kind of process."""

    _before: dict[int, tuple[str, float]] = field(default_factory=dict)
    _children_before: float = 0.0

    def start(self) -> None:
        self._before, self._children_before = _processes(), _children_cpu()

    def stop(self, requests: int) -> dict[str, float]:
        after, children = _processes(), _children_cpu()
        spent = dict.fromkeys(KINDS, 0.0)
        for pid, (kind, seconds) in after.items():
            spent[kind] += seconds - self._before.get(pid, (kind, 0.0))[1]
        spent["load"] = children - self._children_before
        return {kind: round(seconds / max(requests, 1) * 1e6, 1) for kind, seconds in spent.items()}
