"""Pacing on an injected clock: answer-rate estimate, the abandon windows, the cap fallback, the level."""

from __future__ import annotations

import math

import pytest

from cti.campaigns import DialMethod
from cti.pacing import DAY_S, Pacer, PacingSettings, RollingRatio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_rolling_ratio_forgets_what_left_the_window() -> None:
    ratio = RollingRatio(window_s=3600, bucket_s=60)
    ratio.add(0.0, dropped=True)
    ratio.add(10.0, dropped=False)
    assert ratio.rate(100.0) == 0.5
    ratio.add(3700.0, dropped=False)
    assert ratio.rate(3700.0) == 0.0
    assert (ratio.answered, ratio.dropped) == (1, 0)


def test_answer_rate_starts_at_the_prior_and_follows_the_attempts(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(prior_answer_rate=0.3, prior_weight=20, answer_rate_window=400), clock)
    assert pacer.answer_rate == pytest.approx(0.3)
    for i in range(400):
        pacer.record_attempt(i % 10 == 0, 10.0)
    assert pacer.answer_rate == pytest.approx((40 + 6) / 420)


@pytest.mark.parametrize(
    ("free", "in_flight", "expected"),
    [(3, 0, 3), (3, 2, 1), (2, 5, 0), (0, 0, 0)],
)
def test_progressive_places_one_call_per_free_agent(
    clock: FakeClock, free: int, in_flight: int, expected: int
) -> None:
    pacer = Pacer(PacingSettings(), clock)
    got = pacer.calls_to_place(
        DialMethod.PROGRESSIVE, free_agents=free, busy_elapsed_s=[30.0], in_flight_ages_s=[1.0] * in_flight
    )
    assert got == expected


def test_preview_never_dials_by_itself(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(), clock)
    assert (
        pacer.calls_to_place(DialMethod.PREVIEW, free_agents=5, busy_elapsed_s=[], in_flight_ages_s=[]) == 0
    )


def test_predictive_dials_ahead_of_free_agents_and_counts_the_lines_in_flight(clock: FakeClock) -> None:
    pacer = _trained(clock, handle_s=100.0)
    idle = pacer.calls_to_place(DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[], in_flight_ages_s=[])
    # At a 25% answer rate more lines than free agents carry little risk of two answers per agent.
    assert idle > 4
    ringing = pacer.calls_to_place(
        DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[], in_flight_ages_s=[0.0] * 4
    )
    # Just-dialled lines weigh as new ones: the total in flight stays the same.
    assert ringing == idle - 4


@pytest.mark.parametrize(
    ("free", "busy", "ringing", "low", "high"),
    [
        (5, [], [], 0.0, 0.001),  # five agents waiting: a new call finds one
        (0, [5.0] * 3, [], 0.9, 1.0),  # nobody free, everyone just started: it is dropped
        (1, [5.0] * 3, [0.0] * 2, 0.3, 0.6),  # one agent, two fresh lines ahead (exactly 0.4375)
    ],
)
def test_drop_risk_of_the_next_call(
    clock: FakeClock, free: int, busy: list[float], ringing: list[float], low: float, high: float
) -> None:
    pacer = _trained(clock, handle_s=100.0)
    (risk,) = pacer.drop_risks(1, free_agents=free, busy_elapsed_s=busy, in_flight_ages_s=ringing)
    assert low <= risk <= high


def test_each_extra_call_of_a_tick_is_riskier_than_the_one_before(clock: FakeClock) -> None:
    pacer = _trained(clock, handle_s=100.0)
    risks = pacer.drop_risks(12, free_agents=2, busy_elapsed_s=[50.0, 80.0, 99.0], in_flight_ages_s=[3.0])
    assert risks == sorted(risks)
    assert risks[0] < 0.01 < risks[-1] <= 1.0


def test_predictive_places_calls_while_their_risk_is_under_the_level(clock: FakeClock) -> None:
    pacer = _trained(clock, handle_s=100.0)
    state = {"free_agents": 2, "busy_elapsed_s": [50.0, 80.0, 99.0], "in_flight_ages_s": [3.0]}
    risks = pacer.drop_risks(40, **state)  # type: ignore[arg-type]
    placed = pacer.calls_to_place(DialMethod.PREDICTIVE, **state)  # type: ignore[arg-type]
    assert placed == sum(1 for r in risks if r < pacer.level)
    assert 0 < placed < 40


def test_predictive_dials_as_progressive_until_it_has_seen_enough_calls(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(prior_answer_rate=0.25, min_samples=30), clock)
    state = {"free_agents": 20, "busy_elapsed_s": [], "in_flight_ages_s": [0.0] * 5}
    for _ in range(29):
        pacer.record_handle_time(100.0)
    for i in range(200):
        pacer.record_attempt(i % 4 == 0, 10.0 if i % 4 == 0 else 30.0)
    assert not pacer.warmed_up()
    assert pacer.calls_to_place(DialMethod.PREDICTIVE, **state) == 15  # type: ignore[arg-type]
    pacer.record_handle_time(100.0)
    assert pacer.warmed_up()
    assert pacer.calls_to_place(DialMethod.PREDICTIVE, **state) > 15  # type: ignore[arg-type]


def _trained(clock: FakeClock, *, handle_s: float) -> Pacer:
    """A pacer that has seen calls of exactly `handle_s`, answers after 10 s and 30 s no-answers."""
    pacer = Pacer(PacingSettings(prior_answer_rate=0.25, initial_level=0.05, min_samples=30), clock)
    for _ in range(60):
        pacer.record_handle_time(handle_s)
    for i in range(200):
        pacer.record_attempt(i % 4 == 0, 10.0 if i % 4 == 0 else 30.0)
    return pacer


def test_predictive_counts_busy_agents_about_to_finish(clock: FakeClock) -> None:
    settings = PacingSettings(prior_answer_rate=0.25, initial_level=0.05, min_samples=30)
    pacer = Pacer(settings, clock)
    for _ in range(60):
        pacer.record_handle_time(100.0)
    for _ in range(40):
        pacer.record_attempt(True, 12.0)
    # Calls always last 100 s: an agent 95 s in is as good as free within the answer delay,
    # an agent 10 s in is not.
    nearly_done = pacer.calls_to_place(
        DialMethod.PREDICTIVE, free_agents=0, busy_elapsed_s=[95.0], in_flight_ages_s=[]
    )
    just_started = pacer.calls_to_place(
        DialMethod.PREDICTIVE, free_agents=0, busy_elapsed_s=[10.0], in_flight_ages_s=[]
    )
    assert nearly_done > 0
    assert just_started == 0


def test_a_call_ringing_past_every_answer_delay_counts_for_nothing(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(prior_answer_rate=0.25, initial_level=0.05), clock)
    for _ in range(40):
        pacer.record_handle_time(100.0)
        pacer.record_attempt(True, 10.0)
        pacer.record_attempt(False, 30.0)
    fresh = pacer.calls_to_place(
        DialMethod.PREDICTIVE, free_agents=2, busy_elapsed_s=[], in_flight_ages_s=[0.0]
    )
    stale = pacer.calls_to_place(
        DialMethod.PREDICTIVE, free_agents=2, busy_elapsed_s=[], in_flight_ages_s=[20.0]
    )
    assert stale == fresh + 1


def test_over_the_cap_in_24_hours_predictive_falls_back_to_progressive(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(abandon_cap=0.03, min_answers_for_control=100), clock)
    for i in range(100):
        pacer.record_answered(dropped=i < 3)
    assert pacer.capped()
    assert (
        pacer.calls_to_place(DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[], in_flight_ages_s=[])
        == 4
    )
    assert (
        pacer.calls_to_place(
            DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[170.0] * 16, in_flight_ages_s=[0.0]
        )
        == 3
    )
    # A day later the drops have left the 24-hour window, but the 30-day window still holds them.
    clock.now += DAY_S + 120
    snapshot = pacer.snapshot()
    assert snapshot.abandon_rate_24h == 0.0
    assert snapshot.abandon_rate_30d == pytest.approx(0.03)
    assert pacer.capped()
    for _ in range(10):
        pacer.record_answered(dropped=False)
    assert not pacer.capped()


def test_under_the_cap_with_few_answers_the_cap_does_not_apply_yet(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(abandon_cap=0.03, min_answers_for_control=100), clock)
    pacer.record_answered(dropped=True)
    assert not pacer.capped()


def test_the_level_is_recomputed_every_few_seconds_and_follows_the_drop_rate(clock: FakeClock) -> None:
    settings = PacingSettings(
        recompute_every_s=5, min_answers_for_control=10, initial_level=0.05, level_gain=0.01
    )
    target = settings.abandon_cap * settings.target_share_of_cap
    pacer = Pacer(settings, clock)
    for i in range(20):
        pacer.record_answered(dropped=i < 1)  # 5%: over the 2.55% set point
    assert not pacer.maybe_recompute()  # not yet 5 s
    clock.now += 5
    assert pacer.maybe_recompute()
    lowered = 0.05 * math.exp(-0.01 * (0.05 - target) / target)
    assert pacer.level == pytest.approx(lowered)
    for _ in range(180):
        pacer.record_answered(dropped=False)  # 1 in 200: under the set point
    clock.now += 5
    assert pacer.maybe_recompute()
    assert pacer.level == pytest.approx(lowered * math.exp(-0.01 * (0.005 - target) / target))
    assert pacer.level > lowered


def test_the_level_waits_for_enough_answers_and_stays_within_its_bounds(clock: FakeClock) -> None:
    settings = PacingSettings(min_answers_for_control=100, initial_level=0.05, min_level=0.04, level_gain=1.0)
    pacer = Pacer(settings, clock)
    for i in range(50):
        pacer.record_answered(dropped=i < 1)
    clock.now += settings.recompute_every_s
    assert pacer.maybe_recompute()
    assert pacer.level == 0.05  # 50 answers say too little
    for _ in range(50):
        pacer.record_answered(dropped=True)
    clock.now += settings.recompute_every_s
    assert pacer.maybe_recompute()
    assert pacer.level == 0.04  # a steep fall stops at the floor


def test_a_capped_pacer_never_raises_its_level(clock: FakeClock) -> None:
    settings = PacingSettings(min_answers_for_control=100, initial_level=0.05, control_window_s=600)
    pacer = Pacer(settings, clock)
    for i in range(200):
        pacer.record_answered(dropped=i < 10)  # 5% over the day
    clock.now += 1200  # the control window has forgotten them; the day has not
    for _ in range(100):
        pacer.record_answered(dropped=False)
    assert pacer.capped()
    clock.now += settings.recompute_every_s
    assert pacer.maybe_recompute()
    assert pacer.level == 0.05


def test_seeded_history_survives_a_restart(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(min_answers_for_control=100), clock)
    pacer.seed_history(answered_30d=1000, dropped_30d=40, answered_24h=200, dropped_24h=2)
    snapshot = pacer.snapshot()
    assert snapshot.abandon_rate_30d == pytest.approx(0.04)
    assert snapshot.abandon_rate_24h == pytest.approx(0.01)
    assert pacer.capped()
