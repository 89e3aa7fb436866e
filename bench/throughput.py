"""`make bench`: the project against the floor of its stack and against the usual design, side by side.

Three servers take turns under the same load (wrk, 2 threads, 16 connections, human-written texts,
user ids over 5,000 users), all under gunicorn with the same settings (2 sync workers):
  floor   - bench/floor_app.py: parse JSON, run textblob-basic, answer
  project - web + worker + beat on Postgres, RabbitMQ and Redis, two textblob-basic versions at 50/50
  via-flask - the project with PREDICT_FAST_PATH off: every /predict through Flask's dispatch
  peer    - bench/peer_app.py: per request, read the active versions and insert the log row
Both project versions run textblob-basic, the floor's model, so the ratio prices the routing and
logging alone. Then a 60 s run checks that every answered prediction reaches Postgres, and
worker memory stays flat; then 200,000 records go through the worker's ingest task.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import ingest, pipeline
from bench.benchdb import BENCH_BROKER_URL, BENCH_REDIS_URL, reset_bench_services
from bench.cpu import KINDS, CpuMeter
from bench.load import CONNECTIONS, LoadResult, require_wrk, run_wrk, write_scripts
from bench.processes import ROOT, ProcessGroup, wait_until_serving

RESULTS = ROOT / "bench" / "results"
# The targets: (value's name, how it is compared, the limit).
TARGETS = {
    "project/floor req/s": (">=", 0.85),
    "project/floor p99": ("<=", 1.5),
    "project/floor web CPU": ("<=", 1.10),
    "pipeline CPU µs per logged prediction": ("<=", 50.0),
}
PIPELINE_KINDS = ("worker", "postgres", "rabbitmq")
SERVERS = ("floor", "project", "via-flask", "peer")


def _rate(run: dict) -> float:
    return run["requests_per_second"]


def _p90(run: dict) -> float:
    return run["p90_ms"]


def _p99(run: dict) -> float:
    return run["p99_ms"]


def _web_cpu(run: dict) -> float:
    return run["cpu_us_per_request"]["web"]


def server_groups(database_url: str, port: int, logs: Path) -> dict[str, ProcessGroup]:
    web_env = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
    services = {
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "CELERY_BROKER_URL": BENCH_BROKER_URL,
        "INSTANCE_DIR": str(logs / "instance"),
    }
    gunicorn = ["gunicorn", "-c", "gunicorn.conf.py"]
    return {
        "floor": ProcessGroup("floor", {"web": [*gunicorn, "bench.floor_app:app"]}, web_env, logs),
        "project": _project("project", {**web_env, **services}, logs),
        # The same project with /predict through Flask's dispatch: what the fast path saves, side by side.
        "via-flask": _project("via-flask", {**web_env, **services, "PREDICT_FAST_PATH": "false"}, logs),
        "peer": ProcessGroup("peer", {"web": [*gunicorn, "bench.peer_app:app"]}, {**web_env, **services}, logs),
    }


def _project(name: str, env: dict[str, str], logs: Path) -> ProcessGroup:
    commands = {
        "web": ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        "worker": ["celery", "-A", "worker", "worker", "--loglevel=WARNING"],
        "beat": ["celery", "-A", "worker", "beat", "--loglevel=WARNING"],
    }
    return ProcessGroup(name, commands, env, logs)


def measure_turn(group: ProcessGroup, url: str, script: Path, seconds: int) -> tuple[LoadResult, dict[str, float]]:
    """Requests/s and latency under load, and the CPU µs each kind of process spent per request."""
    group.start()
    try:
        wait_until_serving(url + "/health")
        run_wrk(url, script, 3)  # warm up: imports, connections, first batches
        meter = CpuMeter()
        meter.start()
        result = run_wrk(url, script, seconds)
        return result, meter.stop(result.requests)
    finally:
        group.stop()


def summarize(runs: list[dict]) -> dict[str, dict[str, float]]:
    summary = {}
    for server in SERVERS:
        mine = [run for run in runs if run["server"] == server]
        summary[server] = {
            "requests_per_second": round(statistics.median(r["requests_per_second"] for r in mine), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in mine), 2),
            "p90_ms": round(statistics.median(r["p90_ms"] for r in mine), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in mine), 2),
            "runs": [round(r["requests_per_second"], 1) for r in mine],
            "cpu_us_per_request": {
                kind: round(statistics.median(r["cpu_us_per_request"][kind] for r in mine), 1) for kind in KINDS
            },
        }
    return summary


def compare(summary: dict, runs: list[dict]) -> dict[str, float]:
    """The targets' figures. A ratio is the median of each round's ratio: a round's floor and
    project turns run back to back, so a drift of the machine's speed over minutes cancels out."""
    project, peer = summary["project"], summary["peer"]
    return {
        "project/floor req/s": round(_median_ratio(runs, _rate), 3),
        "project/floor p99": round(_median_ratio(runs, _p99), 3),
        "project/floor p90": round(_median_ratio(runs, _p90), 3),
        "project/floor web CPU": round(_median_ratio(runs, _web_cpu), 3),
        # Every project request is logged, so per request is per logged prediction.
        "pipeline CPU µs per logged prediction": round(
            sum(project["cpu_us_per_request"][kind] for kind in PIPELINE_KINDS), 1
        ),
        "project/peer req/s": round(project["requests_per_second"] / peer["requests_per_second"], 3),
        "via-flask/floor req/s": round(_median_ratio(runs, _rate, "via-flask"), 3),
        "via-flask/floor p99": round(_median_ratio(runs, _p99, "via-flask"), 3),
        "via-flask/floor web CPU": round(_median_ratio(runs, _web_cpu, "via-flask"), 3),
    }


def round_ratios(runs: list[dict], value, server: str = "project") -> list[float]:
    """`server` / floor of `value`, one per round."""
    turn = {(run["server"], run["round"]): run for run in runs}
    rounds = sorted({run["round"] for run in runs})
    return [value(turn[server, n]) / value(turn["floor", n]) for n in rounds]


def _median_ratio(runs: list[dict], value, server: str = "project") -> float:
    return statistics.median(round_ratios(runs, value, server))


def print_report(
    summary: dict, runs: list[dict], ratios: dict, pipeline_result: dict | None, ingest_result: dict | None
) -> None:
    print(f"\n{'server':<11}{'req/s (median)':>16}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}   runs")
    for server, row in summary.items():
        rate, p50, p90, p99 = row["requests_per_second"], row["p50_ms"], row["p90_ms"], row["p99_ms"]
        print(f"{server:<11}{rate:>16.1f}{p50:>9.2f}{p90:>9.2f}{p99:>9.2f}   {row['runs']}")
    print("\nCPU µs per request (median of turns)")
    print(f"{'server':<11}" + "".join(f"{kind:>9}" for kind in KINDS) + f"{'total':>9}")
    for server, row in summary.items():
        cpu = row["cpu_us_per_request"]
        print(f"{server:<11}" + "".join(f"{cpu[kind]:>9.0f}" for kind in KINDS) + f"{sum(cpu.values()):>9.0f}")
    print()
    for name, value in ratios.items():
        if name not in TARGETS:
            print(f"{name:<40}{value:>8.3f}")
            continue
        sign, limit = TARGETS[name]
        met = value >= limit if sign == ">=" else value <= limit
        print(f"{name:<40}{value:>8.3f}   (target {sign} {limit})  {'ok' if met else 'MISSED'}")
    for name, value in (("req/s", _rate), ("p99", _p99), ("web CPU", _web_cpu)):
        spread = ", ".join(f"{ratio:.2f}" for ratio in round_ratios(runs, value))
        print(f"  project/floor {name} by round: {spread}")
    flask_spread = ", ".join(f"{ratio:.2f}" for ratio in round_ratios(runs, _rate, "via-flask"))
    print(f"  via-flask/floor req/s by round: {flask_spread}")
    if pipeline_result:
        pipeline.print_report(pipeline_result)
    if ingest_result:
        ingest.print_report(ingest_result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short interleaved turns, medians taken: this 2-core VM's speed drifts by a third within
    # minutes (steal time), and two long turns per server let one slow minute decide a ratio.
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per turn")
    parser.add_argument("--rounds", type=int, default=7, help="turns per server, interleaved")
    parser.add_argument("--pipeline-seconds", type=int, default=60)
    parser.add_argument("--ingest-records", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=8390)
    args = parser.parse_args()

    require_wrk()
    logs = RESULTS / "logs"
    database_url = reset_bench_services()
    plain, collecting = write_scripts(logs)
    url = f"http://127.0.0.1:{args.port}"
    groups = server_groups(database_url, args.port, logs)
    pipeline.prepare_project(groups["project"], url)

    runs = []
    for round_number in range(1, args.rounds + 1):
        for server in SERVERS:
            result, cpu = measure_turn(groups[server], url, plain, args.seconds)
            runs.append({"server": server, "round": round_number, **result.as_dict(), "cpu_us_per_request": cpu})
            print(f"round {round_number} {server:<8} {result.requests_per_second:8.1f} req/s", flush=True)

    summary = summarize(runs)
    ratios = compare(summary, runs)
    pipeline_result = pipeline.check(groups["project"], url, collecting, args.pipeline_seconds, database_url, logs)
    ingest_result = ingest.measure(database_url, args.ingest_records, logs)
    print_report(summary, runs, ratios, pipeline_result, ingest_result)

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load": {"seconds": args.seconds, "rounds": args.rounds, "connections": CONNECTIONS, "tool": "wrk"},
        "runs": runs,
        "summary": summary,
        "ratios": ratios,
        "targets": TARGETS,
        "pipeline": pipeline_result,
        "ingest": ingest_result,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s")
