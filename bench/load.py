"""The load: wrk posting human-written texts with user ids spread over 5,000 users."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from webapp.cli.datasets import load_labelled_sets

USERS = 5_000
BODIES = 4_000
CONNECTIONS = 16
THREADS = 2

_REQUEST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = math.random(#bodies)
request = function()
  counter = counter + 1
  return wrk.format(nil, "/predict", nil, bodies[(counter % #bodies) + 1])
end
"""

# Collects the prediction_id of every 200 answer, so the pipeline check knows exactly what was promised.
_COLLECT_LUA = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) ids = {} end
response = function(status, headers, body)
  if status == 200 then
    local id = body:match('"prediction_id":"([%w%-]+)"')
    if id then ids[#ids + 1] = id end
  end
end
done = function(summary, latency, requests)
  local out = io.open(os.getenv("WRK_IDS_FILE"), "w")
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("ids")) do out:write(id, "\\n") end
  end
  out:close()
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict:
        return asdict(self)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian package `wrk`)")
    return path


def write_scripts(directory: Path, seed: int = 7) -> tuple[Path, Path]:
    """The request script, and a variant that also records answered prediction ids."""
    rng = random.Random(seed)
    texts = [item.text for items in load_labelled_sets().values() for item in items]
    bodies = [json.dumps({"text": rng.choice(texts), "user_id": f"user-{rng.randrange(USERS)}"}) for _ in range(BODIES)]
    table = "bodies = {\n" + ",\n".join(_lua_string(body) for body in bodies) + "\n}\n"
    directory.mkdir(parents=True, exist_ok=True)
    plain, collecting = directory / "load.lua", directory / "load-collect.lua"
    plain.write_text(table + _REQUEST_LUA)
    collecting.write_text(table + _REQUEST_LUA + _COLLECT_LUA)
    return plain, collecting


def _lua_string(text: str) -> str:
    level = "=" * (max((len(m) for m in re.findall(r"\](=*)\]", text)), default=-1) + 1)
    return f"[{level}[{text}]{level}]"


def run_wrk(url: str, script: Path, seconds: int, env: dict[str, str] | None = None) -> LoadResult:
    output = subprocess.run(
        [require_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> LoadResult:
    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def milliseconds(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return LoadResult(
        requests=int(number(r"(\d+) requests in")),
        requests_per_second=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=milliseconds("50%"),
        p90_ms=milliseconds("90%"),
        p99_ms=milliseconds("99%"),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )
