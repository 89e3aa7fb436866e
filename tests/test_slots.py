"""Slots: a change of weights moves the fewest users possible, and only where it must."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.routing.slots import (
    SLOTS,
    legacy_assignment,
    moved_slots,
    owner_at,
    owner_counts,
    rebalance,
    target_counts,
    user_slot,
)


def owners_by_slot(assignment) -> list[str | None]:
    owners: list[str | None] = [None] * SLOTS
    for start, end, owner in assignment:
        owners[start:end] = [owner] * (end - start)
    return owners


def test_slot_is_sha256_of_model_and_user_mod_10000():
    # Computed independently: `echo -n "sentiment:user_123" | sha256sum`, the hex digest as an integer
    # mod 10,000 is 8980; the bucket (mod 100) of the same digest is 80.
    assert user_slot("sentiment", "user_123") == 8980
    assert user_slot("sentiment", "user_123") % 100 == 80


def test_slots_spread_evenly():
    counts = Counter(user_slot("sentiment", f"user-{n}") // 1000 for n in range(50_000))
    assert min(counts.values()) > 4_500 and max(counts.values()) < 5_500  # 5,000 per tenth


def test_first_assignment_fills_every_slot_in_proportion():
    assignment = rebalance((), {"a": 70, "b": 30})
    assert owner_counts(assignment) == {"a": 7_000, "b": 3_000}
    assert None not in owners_by_slot(assignment)


def test_30_20_to_30_30_moves_10_percent_not_most():
    before = rebalance((), {"a": 30, "b": 20})
    after = rebalance(before, {"a": 30, "b": 30})
    assert owner_counts(before) == {"a": 6_000, "b": 4_000}  # shares: 30/50 and 20/50
    assert owner_counts(after) == {"a": 5_000, "b": 5_000}
    assert moved_slots(before, after) == 1_000


def test_changing_one_of_three_weights_leaves_the_unchanged_version_alone():
    before = rebalance((), {"a": 50, "b": 30, "c": 20})
    after = rebalance(before, {"a": 40, "b": 30, "c": 30})
    old, new = owners_by_slot(before), owners_by_slot(after)
    assert all(new[slot] == "b" for slot in range(SLOTS) if old[slot] == "b")
    assert {(old[s], new[s]) for s in range(SLOTS) if old[s] != new[s]} == {("a", "c")}
    assert moved_slots(before, after) == 1_000


def test_a_version_left_out_gives_all_its_slots_to_the_others():
    before = rebalance((), {"a": 50, "b": 50})
    after = rebalance(before, {"b": 50})
    assert owner_counts(after) == {"b": SLOTS}
    assert moved_slots(before, after) == 5_000


def test_all_weights_zero_owns_no_slot_and_restarting_fills_again():
    nothing = rebalance(rebalance((), {"a": 50}), {"a": 0, "b": 0})
    assert nothing == ()
    assert owner_counts(rebalance(nothing, {"a": 0, "b": Decimal("0.5")})) == {"b": SLOTS}


def test_half_a_percent_beside_99_5_gets_50_slots():
    assert target_counts({"a": Decimal("99.5"), "b": Decimal("0.5")}) == {"a": 9_950, "b": 50}


def test_largest_remainder_rounds_to_exactly_10000():
    counts = target_counts({"a": 1, "b": 1, "c": 1})
    assert sum(counts.values()) == SLOTS and sorted(counts.values()) == [3_333, 3_333, 3_334]


def test_a_rounding_tie_goes_to_the_version_already_holding_the_slot():
    assert target_counts({"a": 1, "b": 1, "c": 1}, {"c": 3_334})["c"] == 3_334
    assert target_counts({"a": 1, "b": 1, "c": 1}, {"b": 3_334})["b"] == 3_334


def test_rebalancing_with_unchanged_weights_changes_nothing():
    first = rebalance((), {"a": 1, "b": 1, "c": 1})
    second = rebalance(first, {"a": 1, "b": 1, "c": 1})
    assert second == first
    # Equal remainders, unequal counts: the tie stays with the version that holds the extra slot.
    uneven = rebalance(((0, 3_333, "a"), (3_333, 10_000, "b")), {"a": 1, "b": 2})
    assert rebalance(uneven, {"a": 1, "b": 2}) == uneven


def test_weights_with_more_than_two_decimals_are_refused():
    with pytest.raises(ValueError):
        target_counts({"a": Decimal("0.125")})


def test_owner_at_bisects_the_runs():
    runs = ((0, 10, "a"), (10, 15, "b"), (20, SLOTS, "a"))
    starts = tuple(run[0] for run in runs)
    assert [owner_at(starts, runs, slot) for slot in (0, 9, 10, 14, 15, 20, SLOTS - 1)] == [
        "a",
        "a",
        "b",
        "b",
        None,
        "a",
        "a",
    ]


VERSIONS = ("v1", "v2", "v3", "v4", "v5")
# Weights in hundredths of a percent: 0 to 100.00, biased towards round values and zeros.
weight = st.one_of(st.integers(0, 10_000), st.sampled_from([0, 0, 100, 1_000, 2_500, 5_000])).map(
    lambda value: Decimal(value) / 100
)


@st.composite
def weight_changes(draw):
    """100 successive weight settings over 2 to 5 versions, some versions dropping in and out."""
    versions = VERSIONS[: draw(st.integers(2, 5))]
    changes = []
    for _ in range(100):
        present = draw(st.lists(st.sampled_from(versions), min_size=1, unique=True))
        changes.append({version: draw(weight) for version in sorted(present, key=versions.index)})
    return changes


@settings(max_examples=40, deadline=None)
@given(weight_changes())
def test_every_change_moves_exactly_the_minimum_number_of_slots(changes):
    assignment: tuple = ()
    for weights in changes:
        before_counts = owner_counts(assignment)
        was_full = sum(before_counts.values()) == SLOTS
        new = rebalance(assignment, weights)
        counts = owner_counts(new)
        targets = target_counts(weights, {v: n for v, n in before_counts.items() if v in weights})
        assert {v: n for v, n in targets.items() if n} == counts
        if any(w > 0 for w in weights.values()):
            assert sum(counts.values()) == SLOTS  # every slot owned: every user is served
        # The minimum: every slot a growing version gains has to come from somewhere else.
        gains = sum(max(0, counts.get(v, 0) - before_counts.get(v, 0)) for v in set(counts) | set(before_counts))
        if was_full and counts:
            assert moved_slots(assignment, new) == gains
        elif not was_full:
            assert moved_slots(assignment, new) == 0  # only ever-empty slots were handed out
        old_owners, new_owners = owners_by_slot(assignment), owners_by_slot(new)
        for version in weights:
            if counts.get(version, 0) == before_counts.get(version, 0):
                assert all(new_owners[s] == version for s in range(SLOTS) if old_owners[s] == version)
            if counts.get(version, 0) <= before_counts.get(version, 0):  # shrinking: gains nothing
                assert all(old_owners[s] == version for s in range(SLOTS) if new_owners[s] == version)
        assert len(new) <= 4 * len(VERSIONS) + 20  # runs stay compact
        assert rebalance(new, weights) == new  # reading the config back recomputes the same split
        assignment = new


def routed_before_slots(percents: dict[str, int], bucket: int) -> str:
    """The routing this project did before slots, restated from its README: contiguous ranges of
    buckets as wide as the percents, in activation order, the bucket scaled by total // 100."""
    total, bound = sum(percents.values()), 0
    position = bucket * total // 100
    for version, percent in percents.items():
        bound += percent
        if position < bound:
            return version
    raise AssertionError("unreachable for total > 0")


@pytest.mark.parametrize(
    "percents", [{"a": 70, "b": 30}, {"a": 30, "b": 20}, {"a": 0, "b": 100}, {"a": 50, "b": 25, "c": 25}, {"a": 33}]
)
def test_the_legacy_assignment_serves_every_user_as_before_slots(percents):
    assignment = legacy_assignment(percents)
    starts = tuple(run[0] for run in assignment)
    for slot in range(SLOTS):
        assert owner_at(starts, assignment, slot) == routed_before_slots(percents, slot % 100)
    assert rebalance(assignment, percents) == assignment  # its counts are already the rounded shares
