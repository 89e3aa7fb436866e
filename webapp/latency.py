"""Log-spaced latency buckets: a mergeable summary from which percentiles are read.

Bucket 0 holds latencies up to MIN_MS; bucket b >= 1 holds [MIN_MS * GROWTH**(b-1), MIN_MS * GROWTH**b).
A percentile is reported as its bucket's geometric midpoint, so it is within ±2% (sqrt(1.04) - 1)
of the true sample percentile. Counts per bucket add up across refreshes and processes.

Pure and below every package that uses it: each log row is stored with its bucket (`logpipe.wire`),
the stats refresh counts rows per bucket and reads percentiles (`stats`), and the rollout guardrails
read quantile bounds (`statistics.quantiles`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

GROWTH = 1.04
MIN_MS = 0.001
MAX_BUCKET = 600  # about 16 minutes: anything slower is clamped, and would be a bug anyway
RELATIVE_ERROR = math.sqrt(GROWTH) - 1
_LOG_GROWTH = math.log(GROWTH)


def latency_bucket(latency_ms: float) -> int:
    """The bucket a latency falls in."""
    if latency_ms <= MIN_MS:
        return 0
    return min(int(math.log(latency_ms / MIN_MS) / _LOG_GROWTH) + 1, MAX_BUCKET)


def bucket_midpoint(bucket: int) -> float:
    """The value reported for a bucket: the geometric middle of its bounds."""
    if bucket == 0:
        return MIN_MS
    return MIN_MS * GROWTH ** (bucket - 0.5)


def percentiles(counts: Iterable[tuple[int, int]], quantiles: Iterable[float]) -> list[float | None]:
    """Read quantiles (0..1) from (bucket, count) pairs; None for an empty histogram."""
    ordered = sorted((bucket, count) for bucket, count in counts if count > 0)
    total = sum(count for _, count in ordered)
    if total == 0:
        return [None for _ in quantiles]
    results = []
    for quantile in quantiles:
        rank, seen = max(1, math.ceil(quantile * total)), 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                results.append(round(bucket_midpoint(bucket), 4))
                break
    return results
