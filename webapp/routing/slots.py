"""Pure slot assignment: which version owns each of 10,000 slots, changed with the fewest moves.

A user's slot is the SHA-256 of "<model name>:<user_id>" read as a big-endian integer, mod 10,000.
An assignment is a sorted tuple of runs `(start, end, owner)`, `end` exclusive, never overlapping.
When the weights change, `rebalance` reassigns as few slots as possible: a version whose slot count
shrinks gives up only its surplus, the freed slots go only to versions that grow, and a version whose
count is unchanged keeps every slot. No I/O, no clocks, no globals.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from decimal import Decimal

from .apportion import largest_remainder

SLOTS = 10_000

Run = tuple[int, int, str]  # (start, end exclusive, owner)
Assignment = tuple[Run, ...]


def user_slot(model_name: str, user_id: str) -> int:
    """The user's slot, 0..9,999: the SHA-256 digest of "<model>:<user>" as an integer, mod 10,000."""
    digest = hashlib.sha256(f"{model_name}:{user_id}".encode()).digest()
    return int.from_bytes(digest, "big") % SLOTS


def hundredths(weight: Decimal | int) -> int:
    """A weight of at most 2 decimals as a whole number of hundredths (12.5 -> 1250)."""
    scaled = Decimal(weight).scaleb(2)
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError(f"weight {weight} is negative or has more than 2 decimals")
    return int(scaled)


def owner_counts(assignment: Iterable[Run]) -> dict[str, int]:
    """How many slots each owner holds."""
    counts: dict[str, int] = {}
    for start, end, owner in assignment:
        counts[owner] = counts.get(owner, 0) + end - start
    return counts


def target_counts(weights: Mapping[str, Decimal | int], current: Mapping[str, int] | None = None) -> dict[str, int]:
    """Slot counts proportional to the weights, summing to exactly SLOTS unless every weight is 0.

    Largest remainder rounding in exact integer arithmetic. Ties go first to the owners that already
    hold more than their rounded-down count (so a tie never moves anyone for nothing), then in the
    mapping's order; so recomputing from the result changes nothing.
    """
    scaled = {owner: hundredths(weight) for owner, weight in weights.items()}
    if sum(scaled.values()) == 0:
        return dict.fromkeys(scaled, 0)
    held = current or {}
    floors = {owner: value * SLOTS // sum(scaled.values()) for owner, value in scaled.items()}
    # A tie goes first to an owner already holding more than its rounded-down count: it never moves anyone.
    tiebreak = [0 if held.get(owner, 0) > floors[owner] else 1 for owner in scaled]
    counts = dict(zip(scaled, largest_remainder(list(scaled.values()), SLOTS, tiebreak), strict=True))
    return counts


def rebalance(previous: Iterable[Run], weights: Mapping[str, Decimal | int]) -> Assignment:
    """The new assignment for `weights`, moving the fewest slots from `previous`.

    Owners absent from `weights` give up all their slots. Growing owners are filled in the order
    of `weights`, each from the lowest free slots.
    """
    kept: list[Run] = [(start, end, owner) for start, end, owner in previous if start < end and owner in weights]
    targets = target_counts(weights, owner_counts(kept))
    kept = _trim_surpluses(kept, targets)
    held = owner_counts(kept)
    gaps = _free_gaps(kept)
    for owner in weights:
        need = targets[owner] - held.get(owner, 0)
        while need > 0:
            start, end = gaps.pop(0)
            taken = min(need, end - start)
            kept.append((start, start + taken, owner))
            if start + taken < end:
                gaps.insert(0, (start + taken, end))
            need -= taken
    return _merged(kept)


def legacy_assignment(weights: Mapping[str, Decimal | int]) -> Assignment:
    """The split as routing served it before slots existed, so that deploying slots moves nobody.

    Then a user's bucket (the digest mod 100, which is the slot mod 100) was scaled to
    `bucket * total // 100` and looked up in contiguous ranges as wide as the percents, in the
    order of `weights`; 0% versions own nothing.
    """
    scaled = [(owner, hundredths(weight)) for owner, weight in weights.items()]
    total = sum(value for _, value in scaled)
    if total == 0:
        return ()
    bounds, running = [], 0
    for _, value in scaled:
        running += value
        bounds.append(running)
    by_bucket = [scaled[bisect_right(bounds, bucket * total // 10_000 * 100)][0] for bucket in range(100)]
    return _merged((slot, slot + 1, by_bucket[slot % 100]) for slot in range(SLOTS))


def moved_slots(before: Iterable[Run], after: Iterable[Run]) -> int:
    """How many slots owned both before and after changed owner."""
    before_runs, after_runs = _merged(before), _merged(after)
    moved, i = 0, 0
    for start, end, owner in after_runs:
        while i < len(before_runs) and before_runs[i][1] <= start:
            i += 1
        j = i
        while j < len(before_runs) and before_runs[j][0] < end:
            b_start, b_end, b_owner = before_runs[j]
            if b_owner != owner:
                moved += min(end, b_end) - max(start, b_start)
            j += 1
    return moved


def owner_at(starts: tuple[int, ...], runs: Assignment, slot: int) -> str | None:
    """The owner of `slot`, by bisecting the runs' starts; None if the slot is unowned."""
    index = bisect_right(starts, slot) - 1
    if index < 0:
        return None
    start, end, owner = runs[index]
    return owner if start <= slot < end else None


def _trim_surpluses(runs: list[Run], targets: Mapping[str, int]) -> list[Run]:
    # Give up slots from the end of an owner's last runs: its remaining runs stay whole.
    surplus = {owner: count - targets[owner] for owner, count in owner_counts(runs).items()}
    trimmed: list[Run] = []
    for start, end, owner in sorted(runs, reverse=True):
        cut = min(max(surplus[owner], 0), end - start)
        surplus[owner] -= cut
        if end - cut > start:
            trimmed.append((start, end - cut, owner))
    return sorted(trimmed)


def _free_gaps(runs: list[Run]) -> list[tuple[int, int]]:
    gaps, position = [], 0
    for start, end, _ in sorted(runs):
        if start > position:
            gaps.append((position, start))
        position = max(position, end)
    if position < SLOTS:
        gaps.append((position, SLOTS))
    return gaps


def _merged(runs: Iterable[Run]) -> Assignment:
    merged: list[Run] = []
    for start, end, owner in sorted(runs):
        if merged and merged[-1][2] == owner and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, owner)
        else:
            merged.append((start, end, owner))
    return tuple(merged)
