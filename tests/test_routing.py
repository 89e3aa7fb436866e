"""Routing decisions: buckets, splits and their errors, without any I/O."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from webapp.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from webapp.inference import build_predictor
from webapp.routing.allocation import Allocation, Arm, RoutingTable, user_bucket
from webapp.routing.config import PredictorCache, build_table
from webapp.routing.slots import SLOTS, rebalance

PREDICTOR = build_predictor("textblob-basic")


def arm(version: str, percent: float, name: str = "sentiment") -> Arm:
    return Arm(f"id-{name}-{version}", name, version, "textblob-basic", percent, PREDICTOR)


def table(*arms: Arm, known: tuple[str, ...] = ()) -> RoutingTable:
    by_name: dict[str, list[Arm]] = {}
    for each in arms:
        by_name.setdefault(each.name, []).append(each)
    return RoutingTable(
        version=1,
        allocations={
            name: Allocation(name, tuple(group), rebalance((), {a.model_id: a.percent for a in group}))
            for name, group in by_name.items()
        },
        known_names=frozenset(by_name) | frozenset(known),
    )


def test_bucket_is_sha256_of_model_and_user_mod_100():
    # Expected values computed independently with `echo -n "sentiment:<user>" | sha256sum`.
    assert user_bucket("sentiment", "user_123") == 80
    assert user_bucket("sentiment", "alice") == 58


def test_bucket_depends_on_the_model_name_too():
    buckets = {user_bucket(name, "user_123") for name in ("sentiment", "spam", "toxicity", "intent")}
    assert len(buckets) > 1


def test_buckets_spread_evenly_over_0_to_99():
    counts = Counter(user_bucket("sentiment", f"user-{n}") for n in range(50_000))
    assert set(counts) == set(range(100))
    assert max(counts.values()) < 650 and min(counts.values()) > 350  # 500 expected per bucket


def test_versions_first_own_slot_ranges_in_activation_order():
    routes = table(arm("1.0.0", 70), arm("2.0.0", 30))
    allocation = routes.allocations["sentiment"]
    assert [allocation.sticky(slot).version for slot in (0, 6_999)] == ["1.0.0", "1.0.0"]
    assert [allocation.sticky(slot).version for slot in (7_000, 9_999)] == ["2.0.0", "2.0.0"]


def test_a_user_sees_the_same_version_on_every_request():
    routes = table(arm("1.0.0", 50), arm("2.0.0", 50))
    versions = {routes.route(random.random(), user_id="user_123").arm.version for _ in range(50)}
    assert versions == {"2.0.0"}  # slot 8980 lies in 2.0.0's range [5000, 10000)


def test_sticky_route_reports_method_bucket_and_slot():
    route = table(arm("1.0.0", 100)).route(0.5, user_id="user_123")
    assert (route.method, route.bucket, route.slot) == ("sticky", 80, 8980)


def test_allocation_under_100_percent_still_serves_every_user_in_proportion():
    allocation = table(arm("1.0.0", 30), arm("2.0.0", 20)).allocations["sentiment"]
    served = Counter(allocation.sticky(slot).version for slot in range(SLOTS))
    assert served == {"1.0.0": 6_000, "2.0.0": 4_000}


def test_versions_active_at_zero_percent_get_no_routed_traffic():
    allocation = table(arm("1.0.0", 0), arm("2.0.0", 100)).allocations["sentiment"]
    assert {allocation.sticky(slot).version for slot in range(SLOTS)} == {"2.0.0"}
    assert {allocation.weighted(random.random()).version for _ in range(1000)} == {"2.0.0"}


def test_half_a_percent_gets_half_a_percent_of_the_slots():
    allocation = table(arm("1.0.0", 99.5), arm("2.0.0", 0.5)).allocations["sentiment"]
    served = Counter(allocation.sticky(slot).version for slot in range(SLOTS))
    assert served == {"1.0.0": 9_950, "2.0.0": 50}


def test_a_slot_nobody_owns_is_unavailable_rather_than_misrouted():
    broken = Allocation("sentiment", (arm("1.0.0", 100),), ((0, 5_000, "id-sentiment-1.0.0"),))
    with pytest.raises(ServiceUnavailable):
        broken.sticky(7_000)


def test_anonymous_split_of_10000_requests_lands_within_3_points_of_70_30():
    routes = table(arm("1.0.0", 70), arm("2.0.0", 30))
    counts = Counter(routes.route(random.random()).arm.version for _ in range(10_000))
    assert abs(counts["1.0.0"] / 10_000 - 0.70) <= 0.03
    assert abs(counts["2.0.0"] / 10_000 - 0.30) <= 0.03


def test_anonymous_requests_are_routed_at_random():
    assert table(arm("1.0.0", 50), arm("2.0.0", 50)).route(0.7).method == "random"


def test_explicit_version_overrides_the_split_even_at_zero_percent():
    route = table(arm("1.0.0", 100), arm("2.0.0", 0)).route(0.1, user_id="user_123", model_version="2.0.0")
    assert (route.arm.version, route.method, route.bucket) == ("2.0.0", "explicit", None)


def test_explicit_version_that_is_not_active_is_not_found():
    with pytest.raises(NotFound) as error:
        table(arm("1.0.0", 100)).route(0.1, model_version="9.9.9")
    assert error.value.details == {"active_versions": ["1.0.0"]}


def test_default_model_is_the_only_one_with_active_versions():
    routes = table(arm("1.0.0", 100), known=("spam",))
    assert routes.route(0.3).arm.name == "sentiment"


def test_several_active_models_need_a_name():
    routes = table(arm("1.0.0", 100), arm("1.0.0", 100, name="spam"))
    with pytest.raises(BadRequest):
        routes.route(0.3)
    assert routes.route(0.3, model="spam").arm.name == "spam"


def test_nothing_active_at_all_is_service_unavailable():
    with pytest.raises(ServiceUnavailable):
        table().route(0.3)


def test_a_known_model_with_nothing_active_is_not_found():
    with pytest.raises(NotFound, match="has no active version"):
        table(arm("1.0.0", 100), known=("spam",)).route(0.3, model="spam")


def test_unknown_model_is_not_found():
    with pytest.raises(NotFound):
        table(arm("1.0.0", 100)).route(0.3, model="nope")


def test_all_active_versions_at_zero_percent_is_a_conflict_unless_explicit():
    routes = table(arm("1.0.0", 0))
    with pytest.raises(Conflict):
        routes.route(0.3, user_id="u1")
    assert routes.route(0.3, model_version="1.0.0").arm.version == "1.0.0"


def test_table_built_from_serialized_config_routes_like_the_original():
    config = {
        "version": 7,
        "names": ["sentiment"],
        "active": [
            {
                "model_id": "a",
                "name": "sentiment",
                "version": "1.0.0",
                "algorithm": "textblob-basic",
                "params": {},
                "percent": 70,
            },
            {
                "model_id": "b",
                "name": "sentiment",
                "version": "2.0.0",
                "algorithm": "textblob-advanced",
                "params": {},
                "percent": 30,
            },
        ],
    }
    first, second = build_table(config, PredictorCache()), build_table(config, PredictorCache())
    for n in range(500):
        user = f"user-{n}"
        assert first.route(0.5, user_id=user).arm.model_id == second.route(0.5, user_id=user).arm.model_id


def test_table_routes_by_the_split_the_config_carries():
    config = {
        "version": 8,
        "names": ["sentiment"],
        "active": [
            {
                "model_id": m,
                "name": "sentiment",
                "version": v,
                "algorithm": "textblob-basic",
                "params": {},
                "percent": 50,
            }
            for m, v in (("a", "1.0.0"), ("b", "2.0.0"))
        ],
        "splits": {"sentiment": [[0, 2_500, "b"], [2_500, 7_500, "a"], [7_500, SLOTS, "b"]]},
    }
    routes = build_table(config, PredictorCache())
    for n in range(300):
        route = routes.route(0.5, user_id=f"user-{n}")
        assert route.arm.model_id == ("a" if 2_500 <= route.slot < 7_500 else "b")
