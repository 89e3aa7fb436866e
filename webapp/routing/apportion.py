"""Largest-remainder apportionment: whole units in proportion to weights, summing to exactly the units."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def largest_remainder(
    weights: Sequence[int | Fraction], units: int, tiebreak: Sequence[int] | None = None
) -> list[int]:
    """`units` split in proportion to `weights` (all ≥ 0, not all 0): each gets its share rounded down,
    and the units left over go one each to the largest remainders. Exact: integers and fractions, never
    floats. Ties go to the lower `tiebreak` value, then to the earlier weight."""
    total = sum(weights)
    counts = [weight * units // total for weight in weights]
    order = sorted(
        range(len(weights)),
        key=lambda i: (-(weights[i] * units % total), tiebreak[i] if tiebreak is not None else 0, i),
    )
    for i in order[: units - sum(counts)]:
        counts[i] += 1
    return [int(count) for count in counts]
