"""After a long run at full speed, is every answered prediction in Postgres, once? Is memory flat?"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from pathlib import Path

from bench.benchdb import postgres_connection
from bench.load import run_wrk
from bench.processes import ProcessGroup, child_pids, rss_kib, wait_until_serving

LANDING_DEADLINE_SECONDS = 10
MEMORY_GROWTH_LIMIT = 0.10


def _post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def prepare_project(group: ProcessGroup, url: str) -> None:
    """Register two textblob-basic versions (the floor's model) and split traffic 50/50."""
    group.start()
    try:
        wait_until_serving(url + "/health")
        first = _post(url, "/models", {"name": "sentiment", "version": "1.0.0"})
        second = _post(url, "/models", {"name": "sentiment", "version": "1.1.0", "params": {"neutral_band": 0.1}})
        _post(url, f"/models/{first['model_id']}/activate", {"percent": 50})
        _post(url, f"/models/{second['model_id']}/activate", {"percent": 50})
    finally:
        group.stop()


def _sample_memory(master_pid: int, samples: dict[int, list[int]], stop: threading.Event) -> None:
    while not stop.wait(5):
        for pid in child_pids(master_pid):
            samples.setdefault(pid, []).append(rss_kib(pid))


def _count_stored(ids: list[str]) -> tuple[int, int]:
    """How many of `ids` are stored, and how many rows in the table duplicate a prediction_id."""
    connection = postgres_connection()
    try:
        with connection.cursor() as cursor:
            found = 0
            for start in range(0, len(ids), 20_000):
                chunk = ids[start : start + 20_000]
                cursor.execute("SELECT count(*) FROM prediction_logs WHERE prediction_id = ANY(%s::uuid[])", (chunk,))
                found += cursor.fetchone()[0]
            cursor.execute("SELECT count(*) - count(DISTINCT prediction_id) FROM prediction_logs")
            duplicates = cursor.fetchone()[0]
    finally:
        connection.close()
    return found, duplicates


def check(group: ProcessGroup, url: str, script: Path, seconds: int, database_url: str, logs: Path) -> dict:
    ids_file = logs / "answered-ids.txt"
    group.start()
    try:
        wait_until_serving(url + "/health")
        run_wrk(url, script.with_name("load.lua"), 5)  # warm up before the memory baseline
        samples: dict[int, list[int]] = {pid: [rss_kib(pid)] for pid in child_pids(group.pid("web"))}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_memory, args=(group.pid("web"), samples, stop), daemon=True)
        sampler.start()
        load = run_wrk(url, script, seconds, env={**os.environ, "WRK_IDS_FILE": str(ids_file)})
        stop.set()
        stopped_at = time.monotonic()
        ids = ids_file.read_text().split()
        found, duplicates = 0, 0
        while time.monotonic() - stopped_at <= LANDING_DEADLINE_SECONDS:
            found, duplicates = _count_stored(ids)
            if found == len(ids):
                break
            time.sleep(0.5)
        landed_after = round(time.monotonic() - stopped_at, 2)
    finally:
        group.stop()
    growth = {str(pid): round(values[-1] / values[0] - 1, 4) for pid, values in samples.items() if len(values) > 1}
    return {
        "seconds": seconds,
        "requests_per_second": load.requests_per_second,
        "answered_200": len(ids),
        "non_2xx": load.non_2xx,
        "stored": found,
        "missing": len(ids) - found,
        "duplicates": duplicates,
        "landed_within_seconds": landed_after if found == len(ids) else None,
        "worker_rss_kib": {str(pid): [values[0], values[-1]] for pid, values in samples.items()},
        "worker_rss_growth": growth,
        "ok": found == len(ids) and duplicates == 0 and all(g < MEMORY_GROWTH_LIMIT for g in growth.values()),
    }


def print_report(result: dict) -> None:
    print(
        f"\npipeline: {result['seconds']} s at {result['requests_per_second']:.0f} req/s: "
        f"{result['answered_200']} answered 200, {result['stored']} in Postgres "
        f"({result['missing']} missing, {result['duplicates']} duplicated), "
        f"all landed within {result['landed_within_seconds']} s of the load stopping"
    )
    for pid, (first, last) in result["worker_rss_kib"].items():
        print(
            f"  web worker {pid}: RSS {first / 1024:.1f} MiB -> {last / 1024:.1f} MiB "
            f"({result['worker_rss_growth'].get(pid, 0) * 100:+.1f}%)"
        )
    print(f"  pipeline check: {'ok' if result['ok'] else 'FAILED'}")
