"""The rollout state machine, transition by transition, on plain numbers."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats

from webapp.latency import latency_bucket
from webapp.rollouts import machine as m
from webapp.statistics.frequentist import Moments, Proportion

START = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = m.Plan(steps=(1, 5, 25, 50, 100), step_seconds=300, min_requests_per_step=200)


def latency_histogram(n: int, scale: float) -> tuple[tuple[int, int], ...]:
    """n latencies spread like a log-normal (sigma 0.35) with median `scale` ms, as histogram buckets."""
    latencies = (scale * math.exp(0.35 * stats.norm.ppf((i + 0.5) / n)) for i in range(n))
    return tuple(sorted(Counter(latency_bucket(latency) for latency in latencies).items()))


def arm(requests=1000, labelled=1000, correct=800, slowness=1.0, reward=None, errors=None) -> m.ArmMetrics:
    rewards = reward or Moments(0, 0.0, 0.0)
    counts = latency_histogram(requests, slowness)
    p95 = round(slowness * math.exp(0.35 * stats.norm.ppf(0.95)), 4)
    return m.ArmMetrics(requests, Proportion(labelled, correct), rewards, p95, errors, counts)


def snapshot(candidate=None, baseline=None, step_requests=500) -> m.Snapshot:
    return m.Snapshot(candidate or arm(), baseline or arm(), step_requests)


def running(step=0) -> m.State:
    return m.State(m.RUNNING, step, START)


LATER = START + timedelta(seconds=301)


def test_rollout_advances_when_time_and_requests_are_met():
    decision = m.decide(PLAN, running(1), snapshot(), LATER)
    assert (decision.action, decision.step_index) == (m.ADVANCE, 2)


def test_rollout_holds_until_the_step_time_has_passed():
    decision = m.decide(PLAN, running(1), snapshot(), START + timedelta(seconds=299))
    assert (decision.action, decision.step_index) == (m.HOLD, 1)
    assert "299s of 300s" in decision.reason


def test_rollout_holds_until_the_step_has_enough_requests():
    decision = m.decide(PLAN, running(1), snapshot(step_requests=199), LATER)
    assert decision.action == m.HOLD
    assert "199 of 200 requests" in decision.reason


def test_rollout_completes_after_the_last_step():
    decision = m.decide(PLAN, running(4), snapshot(), LATER)
    assert (decision.action, decision.step_index) == (m.COMPLETE, 4)


def test_significantly_worse_accuracy_rolls_back_at_once_with_the_numbers():
    worse = arm(labelled=1000, correct=600)
    decision = m.decide(PLAN, running(0), snapshot(candidate=worse, step_requests=0), START)
    assert (decision.action, decision.step_index) == (m.ROLLBACK, 0)
    check = next(c for c in decision.checks if c.name == "accuracy_drop")
    assert check.breached and check.value == pytest.approx(0.2)
    assert "0.6000 vs baseline 0.8000" in decision.reason


def test_a_drop_smaller_than_the_allowed_one_does_not_roll_back():
    # 0.79 vs 0.80 on 1,000 labels each: worse, but not significantly by more than 0.02.
    decision = m.decide(PLAN, running(1), snapshot(candidate=arm(correct=790)), LATER)
    assert decision.action == m.ADVANCE


def test_a_large_observed_drop_on_few_labels_is_not_yet_significant():
    few = arm(labelled=20, correct=12)
    decision = m.decide(PLAN, running(1), snapshot(candidate=few, baseline=arm(labelled=20, correct=16)), LATER)
    assert decision.action == m.ADVANCE


# The ratio on its own: the arms here are near 1 ms, under the default 10 ms an increase must exceed.
RATIO_ONLY = replace(PLAN, guardrails=m.Guardrails(min_latency_increase_ms=0))


def test_a_candidate_twice_as_slow_rolls_back_on_the_bound_of_its_p95_ratio():
    # 1,000 latencies each: the candidate's p95 is at least its 93.6th percentile and the baseline's
    # at most its 96.4th (binomial order statistics, 97.5% each): 2 x exp(0.35 x (1.522 - 1.799)) = 1.81.
    decision = m.decide(RATIO_ONLY, running(2), snapshot(candidate=arm(slowness=2.0)), START)
    assert decision.action == m.ROLLBACK
    check = next(c for c in decision.checks if c.name == "p95_latency_ratio")
    assert (check.limit, check.breached) == (1.5, True)
    assert check.value == pytest.approx(1.81, abs=0.04)  # the histogram's buckets are 4% wide
    assert "at least 1.8" in check.note and "95% confidence" in check.note


def test_a_candidate_slower_within_what_the_sample_explains_does_not_roll_back():
    # A point p95 ratio of 1.6 is over the limit, but on 1,000 latencies its bound is 1.6 x 0.906 = 1.45.
    decision = m.decide(RATIO_ONLY, running(1), snapshot(candidate=arm(slowness=1.6)), LATER)
    check = next(c for c in decision.checks if c.name == "p95_latency_ratio")
    assert decision.action == m.ADVANCE
    assert check.value == pytest.approx(1.45, abs=0.04) and not check.breached


def test_latency_is_not_judged_on_too_few_candidate_requests():
    decision = m.decide(RATIO_ONLY, running(1), snapshot(candidate=arm(requests=99, slowness=9.0)), LATER)
    assert decision.action == m.ADVANCE


ERRORS_PLAN = replace(PLAN, guardrails=m.Guardrails(max_error_rate=0.01))


def error_check(errors: int, step_requests: int) -> m.Check:
    decision = m.decide(ERRORS_PLAN, running(1), snapshot(candidate=arm(errors=errors), step_requests=step_requests),
                        LATER)  # fmt: skip
    return next(c for c in decision.checks if c.name == "error_rate")


def test_error_rate_clearly_over_its_limit_rolls_back_with_the_numbers():
    # 20 of 500 attempts: 4%; the 99% Clopper-Pearson lower bound is Beta(20, 481).ppf(0.01) = 0.0223 > 0.01.
    plan = ERRORS_PLAN
    decision = m.decide(plan, running(1), snapshot(candidate=arm(errors=20), step_requests=480), LATER)
    assert (decision.action, decision.step_index) == (m.ROLLBACK, 1)
    check = next(c for c in decision.checks if c.name == "error_rate")
    assert (check.value, check.breached) == (0.04, True)
    assert "error rate 0.0400 (20 of 500 requests in this step) is above 0.01" in decision.reason
    assert "lower bound is 0.0223" in decision.reason


def test_an_error_rate_over_the_limit_by_chance_alone_does_not_roll_back():
    # 2 of 100: 2% observed, but a version failing 1% of requests does that often (lower bound 0.0015).
    check = error_check(errors=2, step_requests=98)
    assert (check.value, check.breached) == (0.02, False)


def test_errors_are_counted_against_answered_plus_failed_requests():
    assert error_check(errors=0, step_requests=300).value == 0.0
    assert error_check(errors=300, step_requests=0).value == 1.0
    assert error_check(errors=300, step_requests=0).breached


def test_unmeasured_errors_are_reported_and_never_breach():
    check = m.decide(ERRORS_PLAN, running(1), snapshot(), LATER).checks[0]
    assert (check.name, check.value, check.breached) == ("error_rate", None, False)


def test_mean_reward_clearly_below_the_minimum_rolls_back():
    plan = replace(PLAN, guardrails=m.Guardrails(min_mean_reward=0.5))
    low = Moments(400, 400 * 0.2, 400 * (0.2**2 + 0.01))  # mean 0.2, sd about 0.1
    decision = m.decide(plan, running(1), snapshot(candidate=arm(reward=low)), LATER)
    assert decision.action == m.ROLLBACK
    assert "mean reward 0.2000" in decision.reason


def test_mean_reward_near_the_minimum_does_not_roll_back():
    plan = replace(PLAN, guardrails=m.Guardrails(min_mean_reward=0.5))
    close = Moments(40, 40 * 0.45, 40 * (0.45**2 + 0.09))
    assert m.decide(plan, running(1), snapshot(candidate=arm(reward=close)), LATER).action == m.ADVANCE


def test_a_paused_rollout_never_moves_even_with_a_breach():
    state = m.pause(running(1))
    decision = m.decide(PLAN, state, snapshot(candidate=arm(correct=100)), LATER)
    assert (decision.action, decision.step_index) == (m.HOLD, 1)


def test_resume_restarts_the_step_clock():
    resumed = m.resume(m.pause(running(1)), LATER)
    assert (resumed.state, resumed.step_started_at) == (m.RUNNING, LATER)
    assert m.decide(PLAN, resumed, snapshot(), LATER + timedelta(seconds=10)).action == m.HOLD


@pytest.mark.parametrize("state", [m.RUNNING, m.PAUSED])
def test_an_active_rollout_can_be_aborted(state):
    assert m.abort(m.State(state, 2, START)).state == m.ABORTED


@pytest.mark.parametrize("final", m.FINAL_STATES)
def test_a_finished_rollout_cannot_be_paused_resumed_or_aborted(final):
    state = m.State(final, 2, START)
    for transition in (m.pause, lambda s: m.resume(s, LATER), m.abort):
        with pytest.raises(m.InvalidTransition):
            transition(state)
    assert m.decide(PLAN, state, snapshot(), LATER).action == m.HOLD


def test_resuming_a_running_rollout_is_refused():
    with pytest.raises(m.InvalidTransition):
        m.resume(running(0), LATER)


def test_candidate_share_is_the_step_share_of_the_pool():
    assert m.candidate_share(PLAN, 2, 100) == 25
    assert m.candidate_share(PLAN, 0, 60) == 0.6


def test_equal_accuracy_on_many_labels_never_rolls_back():
    same = arm(labelled=100_000, correct=80_000)
    assert m.decide(PLAN, running(1), snapshot(candidate=same, baseline=same), LATER).action == m.ADVANCE
