"""Pacing on an injected clock: answer-rate estimate, the abandon windows, the cap fallback, the level."""

from __future__ import annotations

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


def test_predictive_dials_ahead_of_free_agents_by_the_answer_rate(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(prior_answer_rate=0.25, initial_level=1.0, max_level=1.0), clock)
    # 4 free agents at a 25% answer rate: 16 lines, minus what 4 lines in flight will bring.
    assert (
        pacer.calls_to_place(DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[], in_flight_ages_s=[])
        == 16
    )
    assert (
        pacer.calls_to_place(
            DialMethod.PREDICTIVE, free_agents=4, busy_elapsed_s=[], in_flight_ages_s=[0.0] * 4
        )
        == 12
    )


def test_predictive_counts_busy_agents_about_to_finish(clock: FakeClock) -> None:
    settings = PacingSettings(prior_answer_rate=0.25, initial_level=1.0, max_level=1.0, min_samples=30)
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
    pacer = Pacer(PacingSettings(prior_answer_rate=0.25, initial_level=1.0, max_level=1.0), clock)
    for _ in range(40):
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


def test_the_level_is_recomputed_every_few_seconds_and_drops_when_drops_run_high(clock: FakeClock) -> None:
    settings = PacingSettings(recompute_every_s=5, min_answers_for_control=10, initial_level=0.3)
    pacer = Pacer(settings, clock)
    for i in range(20):
        pacer.record_answered(dropped=i < 1)  # 5%: over the 2.55% target
    assert not pacer.maybe_recompute()  # not yet 5 s
    clock.now += 5
    assert pacer.maybe_recompute()
    assert pacer.level == pytest.approx(0.3 * settings.level_down_factor)
    for _ in range(200):
        pacer.record_answered(dropped=False)
    clock.now += 5
    assert pacer.maybe_recompute()
    assert pacer.level == pytest.approx(0.3 * settings.level_down_factor + settings.level_up_step)


def test_seeded_history_survives_a_restart(clock: FakeClock) -> None:
    pacer = Pacer(PacingSettings(min_answers_for_control=100), clock)
    pacer.seed_history(answered_30d=1000, dropped_30d=40, answered_24h=200, dropped_24h=2)
    snapshot = pacer.snapshot()
    assert snapshot.abandon_rate_30d == pytest.approx(0.04)
    assert snapshot.abandon_rate_24h == pytest.approx(0.01)
    assert pacer.capped()
