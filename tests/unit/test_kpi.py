"""Queue figures and the Erlang C projection, table-tested with an injected clock."""

from __future__ import annotations

import math

import pytest

from cti.agent_states import AgentStatus, Membership, Presence, StatePeriod
from cti.ami_protocol import AmiParser
from cti.kpi import KpiSettings, QueueBoard, agents_needed, erlang_c, erlang_c_service_level
from tests.recordings import server_stream

T0 = 1_800_000_000.0  # "now" of every test; the day starts an hour and a half earlier
DAY_START = T0 - 5400.0


def board(**settings: float) -> QueueBoard:
    return QueueBoard(KpiSettings(**settings), day_start=lambda now: DAY_START)


def ready(interface: str, since: float, *queues: str, presence: Presence = Presence.READY) -> AgentStatus:
    paused = presence in (Presence.PAUSED, Presence.WRAP_UP)
    reason = {Presence.PAUSED: "Lunch", Presence.WRAP_UP: "After-call work"}.get(presence, "")
    members = tuple(Membership(q, paused, reason, since if paused else None) for q in queues)
    return AgentStatus(interface, interface, presence, reason, since, members)


# (queue events as (kind, seconds before T0, seconds waited or talked), window, expected figures)
CASES = [
    pytest.param(
        [], "15m", {"service_level": None, "asa_s": None, "abandon_rate": None, "aht_s": None}, id="empty"
    ),
    pytest.param(
        [("answer", 60, 5), ("answer", 120, 25), ("abandon", 200, 40), ("answer", 300, 20)],
        "15m",
        {"answered": 3, "abandoned": 1, "service_level": 0.5, "asa_s": 50 / 3, "abandon_rate": 0.25},
        id="threshold-is-inclusive",
    ),
    pytest.param(
        [("answer", 60, 5), ("answer", 1200, 30), ("abandon", 2000, 10)],
        "15m",
        {"answered": 1, "abandoned": 0, "service_level": 1.0, "asa_s": 5.0, "abandon_rate": 0.0},
        id="15-minute-window-drops-older",
    ),
    pytest.param(
        [("answer", 60, 5), ("answer", 1200, 30), ("abandon", 2000, 10), ("answer", 4000, 1)],
        "60m",
        {"answered": 2, "abandoned": 1, "service_level": 1 / 3, "asa_s": 17.5, "abandon_rate": 1 / 3},
        id="60-minute-window",
    ),
    pytest.param(
        [("answer", 60, 5), ("answer", 4000, 1), ("answer", 6000, 1)],
        "today",
        {"answered": 2, "service_level": 1.0, "asa_s": 3.0},
        id="today-starts-at-midnight",
    ),
    pytest.param(
        [("complete", 30, 100), ("complete", 100, 200), ("complete", 1000, 600)],
        "15m",
        {"aht_s": 150.0},
        id="aht-is-mean-talk",
    ),
]


@pytest.mark.parametrize("clock", ["forward", "stepping-back"])
@pytest.mark.parametrize(("events", "window", "expected"), CASES)
def test_window_figures(
    events: list[tuple[str, float, int]], window: str, expected: dict[str, float], clock: str
) -> None:
    b = board()
    # The same figures when the system clock steps back between events (NTP).
    for kind, ago_s, seconds in sorted(events, key=lambda e: -e[1] if clock == "forward" else e[1]):
        at = T0 - ago_s
        if kind == "answer":
            b.call_answered("support", seconds, at)
        elif kind == "abandon":
            b.caller_abandoned("support", seconds, at)
        else:
            b.call_completed("support", seconds, at)
    b.caller_joined("support", "x", T0 - 1)  # makes sure the queue exists in every case
    [figures] = b.figures([], T0)
    got = dict(figures.windows)[window]
    for key, value in expected.items():
        actual = getattr(got, key)
        assert actual == (pytest.approx(value) if isinstance(value, float) else value), key


def test_the_windows_stay_right_once_calls_before_yesterdays_last_hour_are_forgotten() -> None:
    b = board(service_level_s=10)
    b.call_answered("support", 5, DAY_START - 4000)  # forgotten at the next arrival
    b.call_completed("support", 500, DAY_START - 4000)
    b.call_answered("support", 30, DAY_START + 60)
    b.call_completed("support", 100, DAY_START + 60)
    b.caller_abandoned("support", 8, T0 - 60)
    b.caller_joined("support", "c1", T0 - 1)
    b.call_answered("support", 4, T0 - 30)  # the clock stepped back after the arrival
    b.call_completed("support", 200, T0 - 20)
    windows = dict(b.figures([], T0)[0].windows)
    today, last_15m = windows["today"], windows["15m"]
    assert (today.answered, today.abandoned, today.service_level, today.asa_s) == (2, 1, 1 / 3, 17.0)
    assert today.aht_s == 150.0
    assert (last_15m.answered, last_15m.abandoned, last_15m.asa_s, last_15m.aht_s) == (1, 1, 4.0, 200.0)


def test_aht_adds_the_configured_wrap_up() -> None:
    b = board(wrap_up_s=15)
    b.call_completed("support", 100, T0 - 10)
    [figures] = b.figures([], T0)
    assert dict(figures.windows)["15m"].aht_s == 115.0


def test_service_level_threshold_is_configurable() -> None:
    b = board(service_level_s=10)
    b.call_answered("support", 15, T0 - 10)
    b.call_answered("support", 5, T0 - 20)
    [figures] = b.figures([], T0)
    assert dict(figures.windows)["15m"].service_level == 0.5


def test_waiting_callers_and_agent_counts() -> None:
    b = board()
    b.caller_joined("support", "c1", T0 - 42)
    b.caller_joined("support", "c2", T0 - 7)
    agents = [
        ready("A", T0 - 100, "support"),
        ready("B", T0 - 100, "support", presence=Presence.ON_CALL),
        ready("C", T0 - 100, "support", presence=Presence.PAUSED),
        ready("D", T0 - 100, "support", presence=Presence.WRAP_UP),
        ready("E", T0 - 100, "vip"),
    ]
    support = next(f for f in b.figures(agents, T0) if f.queue == "support")
    assert (support.waiting, support.longest_wait_s) == (2, 42.0)
    assert (support.ready, support.on_call, support.paused, support.wrap_up) == (1, 1, 1, 1)
    assert b.staffed_agents("support", agents) == 3
    assert b.staffed_agents("support", agents, without="A") == 2


# (closed periods as (state, start ago, end ago), current states as (state, since ago), window start ago, expected)
OCCUPANCY = [
    pytest.param([], [], 900, None, id="nobody"),
    pytest.param(
        [(Presence.READY, 900, 600), (Presence.ON_CALL, 600, 300)],
        [(Presence.WRAP_UP, 300)],
        900,
        2 / 3,
        id="one-agent-ready-then-busy",
    ),
    pytest.param([(Presence.PAUSED, 900, 0)], [(Presence.READY, 900)], 900, 0.0, id="pauses-do-not-count"),
    pytest.param(
        [(Presence.ON_CALL, 2000, 600)],
        [(Presence.READY, 600)],
        900,
        1 / 3,
        id="periods-clipped-to-the-window-minute",
    ),
    pytest.param(
        [(Presence.ON_CALL, 4000, 3700), (Presence.READY, 3700, 3600)],
        [(Presence.ON_CALL, 60)],
        3600,
        1.0,
        id="older-than-the-window-left-out",
    ),
]


@pytest.mark.parametrize(("periods", "current", "start_ago", "expected"), OCCUPANCY)
def test_occupancy(
    periods: list[tuple[Presence, float, float]],
    current: list[tuple[Presence, float]],
    start_ago: float,
    expected: float | None,
) -> None:
    b = board()
    b.caller_joined("support", "x", T0 - 1)  # the queue exists even when nobody worked in it
    for presence, began, ended in periods:
        b.record_period(StatePeriod("A", presence, "", T0 - began, T0 - ended, ("support",)))
    b.record_period(StatePeriod("X", Presence.ON_CALL, "", T0 - 500, T0 - 100, ("vip",)))  # another queue
    agents = [ready(f"A{i}", T0 - since, "support", presence=p) for i, (p, since) in enumerate(current)]
    figures = {f.queue: f for f in b.figures(agents, T0)}
    window = {900: "15m", 3600: "60m"}[start_ago]
    got = dict(figures["support"].windows)[window].occupancy
    assert got == (None if expected is None else pytest.approx(expected))


# Erlang C: exact small cases, and the classic call-centre example (100 calls per 30 min,
# 180 s handle time, so 10 erlangs) whose probabilities of waiting are published to 4 places.
ERLANG_C = [
    pytest.param(1, 0.5, 0.5, id="M/M/1-is-rho"),
    pytest.param(2, 1.0, 1 / 3, id="two-agents-one-erlang"),
    pytest.param(11, 10.0, 0.6821, id="10E-11-agents"),
    pytest.param(12, 10.0, 0.4494, id="10E-12-agents"),
    pytest.param(13, 10.0, 0.2853, id="10E-13-agents"),
    pytest.param(14, 10.0, 0.1741, id="10E-14-agents"),
    pytest.param(10, 10.0, 1.0, id="overloaded"),
    pytest.param(5, 0.0, 0.0, id="no-traffic"),
]


@pytest.mark.parametrize(("agents", "erlangs", "expected"), ERLANG_C)
def test_erlang_c_probability_of_waiting(agents: int, erlangs: float, expected: float) -> None:
    assert erlang_c(agents, erlangs) == pytest.approx(expected, abs=5e-5)


def test_erlang_c_service_level_and_agents_needed() -> None:
    rate = 100 / 1800
    level = erlang_c_service_level(14, rate, 180, 20)
    assert level == pytest.approx(1 - 0.1741 * math.exp(-4 * 20 / 180), abs=1e-4)
    assert erlang_c_service_level(13, rate, 180, 20) < 0.8 < level
    assert agents_needed(rate, 180, 20, 0.8) == 14
    assert erlang_c_service_level(10, rate, 180, 20) == 0.0
    assert erlang_c_service_level(1, 0.0, 180, 20) == 1.0


def test_forecast_uses_the_last_15_minutes_of_arrivals_and_flags_a_miss() -> None:
    b = board()
    for i in range(50):
        b.caller_joined("support", f"c{i}", T0 - 800 + i * 16)
    b.caller_joined("support", "old", T0 - 1000)  # outside the arrival window
    for i in range(10):
        b.call_completed("support", 180, T0 - 100 - i)
    enough = b.forecast_for("support", 14, T0)
    assert enough.arrivals_per_hour == pytest.approx(200.0)
    assert enough.handle_s == 180.0
    assert not enough.below_target
    short = b.forecast_for("support", 13, T0)
    assert short.below_target
    assert short.agents_needed == 14


def test_recorded_queue_calls_feed_the_board() -> None:
    b = board()
    clock = T0
    for name in ("ami_b_inbound_answered.txt", "ami_c_abandon.txt"):
        for message in AmiParser().feed(server_stream(name)):
            clock += 0.01
            b.feed(message, clock)
    figures = {f.queue: f for f in b.figures([], clock)}
    support = dict(figures["support"].windows)["15m"]
    assert (support.answered, support.abandoned, support.service_level) == (1, 0, 1.0)
    assert support.aht_s == 3.0  # AgentComplete TalkTime: 3
    noanswer = dict(figures["noanswer"].windows)["15m"]
    assert (noanswer.answered, noanswer.abandoned, noanswer.abandon_rate) == (0, 1, 1.0)
    assert figures["noanswer"].waiting == 0
