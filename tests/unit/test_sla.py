"""SLA clocks: business-time arithmetic, the policy's deadlines and the config loaders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.errors import SlaConfigError
from tickets.model import Priority
from tickets.sla import (
    WEEKDAYS,
    BusinessCalendar,
    SlaDeadlines,
    SlaPolicy,
    SlaTarget,
    load_sla_policy,
    parse_sla_policy,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
TIERS = ("vip", "gold", "standard")
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0

WEEKDAY = ((time(8), time(12)), (time(13), time(17, 30)))
TET_2026 = frozenset(date(2026, 2, d) for d in range(16, 21))


def vn_calendar(holidays: frozenset[date] = TET_2026) -> BusinessCalendar:
    """Mon-Fri 08:00-12:00 and 13:00-17:30, Saturday morning, Sunday closed (as config/calendar.toml)."""
    return BusinessCalendar(HCM, (WEEKDAY,) * 5 + (((time(8), time(12)),), ()), holidays)


def berlin_calendar() -> BusinessCalendar:
    """Office hours, plus a Sunday night shift across the hour clocks change (02:00/03:00 local)."""
    office = ((time(9), time(17)),)
    return BusinessCalendar(BERLIN, (office,) * 5 + ((), ((time(1), time(4)),)))


def vn(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=HCM)


def berlin(day: str, hhmm: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=BERLIN, fold=fold)


# 2026-03-02 is a Monday; 2026-02-13 the Friday before Tết.
@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param(vn("2026-03-02", "09:00"), 1, vn("2026-03-02", "10:00"), id="within-morning"),
        pytest.param(vn("2026-03-02", "11:30"), 1, vn("2026-03-02", "13:30"), id="over-lunch"),
        pytest.param(vn("2026-03-02", "11:00"), 1, vn("2026-03-02", "12:00"), id="ends-at-lunch"),
        pytest.param(vn("2026-03-02", "16:30"), 1, vn("2026-03-02", "17:30"), id="ends-exactly-at-close"),
        pytest.param(vn("2026-03-02", "17:00"), 1, vn("2026-03-03", "08:30"), id="over-the-evening"),
        pytest.param(vn("2026-03-02", "08:00"), 8.5, vn("2026-03-02", "17:30"), id="whole-day-from-opening"),
        pytest.param(vn("2026-03-02", "06:00"), 0.5, vn("2026-03-02", "08:30"), id="start-before-opening"),
        pytest.param(vn("2026-03-02", "12:30"), 0.5, vn("2026-03-02", "13:30"), id="start-in-lunch"),
        pytest.param(vn("2026-03-02", "20:00"), 1, vn("2026-03-03", "09:00"), id="start-at-night"),
        pytest.param(vn("2026-03-02", "17:30"), 1, vn("2026-03-03", "09:00"), id="start-at-close"),
        pytest.param(vn("2026-03-06", "17:00"), 1, vn("2026-03-07", "08:30"), id="friday-into-saturday"),
        pytest.param(
            vn("2026-03-07", "11:00"), 2, vn("2026-03-09", "09:00"), id="saturday-half-day-sunday-closed"
        ),
        pytest.param(vn("2026-03-07", "13:00"), 1, vn("2026-03-09", "09:00"), id="saturday-afternoon-closed"),
        pytest.param(vn("2026-03-08", "10:00"), 1, vn("2026-03-09", "09:00"), id="sunday-closed"),
        pytest.param(vn("2026-02-13", "17:00"), 1, vn("2026-02-14", "08:30"), id="into-saturday-before-tet"),
        pytest.param(vn("2026-02-14", "11:00"), 2, vn("2026-02-21", "09:00"), id="over-tet-week"),
        pytest.param(vn("2026-02-17", "10:00"), 1, vn("2026-02-21", "09:00"), id="start-on-tet"),
        pytest.param(vn("2026-03-02", "09:00"), 0, vn("2026-03-02", "09:00"), id="zero-in-hours"),
        pytest.param(vn("2026-03-08", "10:00"), 0, vn("2026-03-09", "08:00"), id="zero-outside-hours"),
    ],
)
def test_add_business_hours(start: datetime, hours: float, expected: datetime) -> None:
    due = vn_calendar().add(start, hours * HOUR)
    assert due == expected
    assert due.tzinfo is UTC


def test_add_two_thousand_business_hours_skips_days_not_minutes() -> None:
    # 46.5 open hours a week: 43 weeks are 1,999.5 hours, so the last half hour is Monday 08:00-08:30.
    calendar = vn_calendar(frozenset())
    start = vn("2026-03-02", "08:00")
    due = calendar.add(start, 2000 * HOUR)
    assert due == vn("2026-12-28", "08:30")
    assert calendar.between(start, due) == 2000 * HOUR


def test_long_span_over_holidays_counts_each_holiday_once() -> None:
    calendar = vn_calendar()
    start, end = vn("2026-02-09", "08:00"), vn("2026-03-02", "08:00")
    # Three weeks of 46.5 hours minus the five Tết weekdays of 8.5 hours.
    assert calendar.between(start, end) == (3 * 46.5 - 5 * 8.5) * HOUR


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        pytest.param(vn("2026-03-02", "09:00"), vn("2026-03-02", "10:00"), 1, id="within"),
        pytest.param(vn("2026-03-02", "11:00"), vn("2026-03-02", "14:00"), 2, id="over-lunch"),
        pytest.param(vn("2026-03-02", "17:00"), vn("2026-03-03", "09:00"), 1.5, id="overnight"),
        pytest.param(vn("2026-03-06", "17:00"), vn("2026-03-09", "09:00"), 5.5, id="weekend"),
        pytest.param(vn("2026-03-07", "12:00"), vn("2026-03-09", "08:00"), 0, id="closed-all-along"),
        pytest.param(vn("2026-03-02", "10:00"), vn("2026-03-02", "10:00"), 0, id="empty"),
        pytest.param(vn("2026-03-02", "12:00"), vn("2026-03-02", "10:00"), 0, id="end-before-start"),
        pytest.param(vn("2026-02-13", "08:00"), vn("2026-02-23", "08:00"), 8.5 + 4 + 4, id="over-tet"),
    ],
)
def test_between(start: datetime, end: datetime, hours: float) -> None:
    assert vn_calendar().between(start, end) == hours * HOUR


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(vn("2026-03-02", "08:00"), True, id="at-opening"),
        pytest.param(vn("2026-03-02", "07:59"), False, id="before-opening"),
        pytest.param(vn("2026-03-02", "12:00"), False, id="lunch-starts"),
        pytest.param(vn("2026-03-02", "17:29"), True, id="before-close"),
        pytest.param(vn("2026-03-02", "17:30"), False, id="at-close"),
        pytest.param(vn("2026-03-07", "11:59"), True, id="saturday-morning"),
        pytest.param(vn("2026-03-07", "13:00"), False, id="saturday-afternoon"),
        pytest.param(vn("2026-03-08", "10:00"), False, id="sunday"),
        pytest.param(vn("2026-02-18", "10:00"), False, id="tet"),
        # 01:30 UTC on Monday is 08:30 in Ho Chi Minh City; Sunday 20:30 in New York.
        pytest.param(datetime(2026, 3, 2, 1, 30, tzinfo=UTC), True, id="utc-input"),
        pytest.param(datetime(2026, 3, 1, 20, 30, tzinfo=NEW_YORK), True, id="new-york-input"),
        pytest.param(datetime(2026, 3, 2, 10, 30, tzinfo=UTC), False, id="utc-evening-local"),
    ],
)
def test_is_open(at: datetime, expected: bool) -> None:
    assert vn_calendar().is_open(at) is expected


def test_other_time_zones_in_local_rules_applied() -> None:
    calendar = vn_calendar()
    # Monday 01:00 UTC = 08:00 local; an hour later is 02:00 UTC whatever zone the start came in.
    assert calendar.add(datetime(2026, 3, 2, 1, tzinfo=UTC), HOUR) == datetime(2026, 3, 2, 2, tzinfo=UTC)
    # Friday 10:00 UTC = 17:00 local: half an hour today, the rest on Saturday morning.
    assert calendar.add(datetime(2026, 3, 6, 10, tzinfo=UTC), HOUR) == vn("2026-03-07", "08:30")
    new_york_sunday = datetime(2026, 3, 1, 20, tzinfo=NEW_YORK)  # Monday 08:00 in Vietnam
    assert calendar.add(new_york_sunday, HOUR) == vn("2026-03-02", "09:00")
    assert calendar.between(new_york_sunday, vn("2026-03-02", "09:00")) == HOUR


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Friday (CET, +01:00) 1 h, the Sunday shift (2 h in March, 4 h in October), Monday (CEST) 1 h.
        pytest.param(
            berlin("2026-03-27", "16:00"), 4, berlin("2026-03-30", "10:00"), id="weekend-over-spring"
        ),
        pytest.param(
            berlin("2026-10-23", "16:00"), 6, berlin("2026-10-26", "10:00"), id="weekend-over-autumn"
        ),
        # The Sunday shift 01:00-04:00 is only two real hours in March: 02:00-03:00 does not exist.
        pytest.param(
            berlin("2026-03-29", "01:00"), 1.5, berlin("2026-03-29", "03:30"), id="shift-across-spring"
        ),
        pytest.param(berlin("2026-03-29", "01:00"), 2, berlin("2026-03-29", "04:00"), id="spring-shift-ends"),
        pytest.param(
            berlin("2026-03-29", "01:00"), 2.5, berlin("2026-03-30", "09:30"), id="spring-shift-over"
        ),
        # ...and four real hours in October: 02:00-03:00 happens twice.
        pytest.param(
            berlin("2026-10-25", "01:00"), 1.5, berlin("2026-10-25", "02:30"), id="autumn-first-pass"
        ),
        pytest.param(
            berlin("2026-10-25", "01:00"), 2.5, berlin("2026-10-25", "02:30", fold=1), id="autumn-second-pass"
        ),
        pytest.param(berlin("2026-10-25", "01:00"), 4, berlin("2026-10-25", "04:00"), id="autumn-shift-ends"),
    ],
)
def test_dst_in_berlin(start: datetime, hours: float, expected: datetime) -> None:
    calendar = berlin_calendar()
    due = calendar.add(start, hours * HOUR)
    # In UTC: aware datetimes in a DST fold never compare equal across zones (PEP 495).
    assert due == expected.astimezone(UTC)
    assert calendar.between(start, due) == hours * HOUR


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2026-03-22", 3), ("2026-03-29", 2), ("2026-10-25", 4)],
)
def test_dst_sunday_shift_counts_real_hours(day: str, hours: float) -> None:
    start = berlin(day, "00:00")
    assert berlin_calendar().between(start, start + timedelta(days=1)) == hours * HOUR


def test_an_interval_inside_the_skipped_hour_counts_nothing() -> None:
    # 02:30 does not exist on 29 March; zoneinfo puts it after 03:15, so the interval is empty
    # and must neither count nor give back time.
    office = ((time(9), time(17)),)
    calendar = BusinessCalendar(BERLIN, (office,) * 5 + ((), ((time(2, 30), time(3, 15)),)))
    assert calendar.between(berlin("2026-03-29", "00:00"), berlin("2026-03-30", "00:00")) == 0
    assert calendar.add(berlin("2026-03-28", "12:00"), HOUR) == berlin("2026-03-30", "10:00")
    # On an ordinary Sunday the same interval is 45 minutes.
    assert calendar.add(berlin("2026-03-21", "12:00"), HOUR) == berlin("2026-03-23", "09:15")


def test_always_open_counts_wall_clock_time() -> None:
    calendar = BusinessCalendar.always_open(HCM)
    saturday_night = vn("2026-02-14", "20:00")  # a weekend inside Tết: still counts
    assert calendar.add(saturday_night, 10 * HOUR) == vn("2026-02-15", "06:00")
    assert calendar.between(saturday_night, vn("2026-02-17", "20:00")) == 72 * HOUR
    assert calendar.is_open(vn("2026-02-17", "03:00"))
    # Wall-clock time across a DST change is real elapsed time: the March night has 23 hours.
    berlin_clock = BusinessCalendar.always_open(BERLIN)
    assert berlin_clock.between(berlin("2026-03-29", "00:00"), berlin("2026-03-30", "00:00")) == 23 * HOUR


NAIVE = datetime(2026, 3, 2, 9)
AWARE = vn("2026-03-02", "09:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c, p: c.add(NAIVE, 60), id="add"),
        pytest.param(lambda c, p: c.between(NAIVE, AWARE), id="between-start"),
        pytest.param(lambda c, p: c.between(AWARE, NAIVE), id="between-end"),
        pytest.param(lambda c, p: c.is_open(NAIVE), id="is_open"),
        pytest.param(lambda c, p: BusinessCalendar.always_open().add(NAIVE, 60), id="always-open-add"),
        pytest.param(lambda c, p: p.deadlines(NAIVE, Priority.NORMAL, "gold"), id="deadlines"),
        pytest.param(lambda c, p: p.restart_resolution(NAIVE, Priority.NORMAL, "gold"), id="restart"),
        pytest.param(
            lambda c, p: p.resolution_due_after_pause(AWARE, NAIVE, AWARE, Priority.LOW, "vip"), id="pause"
        ),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[BusinessCalendar, SlaPolicy], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(vn_calendar(), policy())


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_add_refuses_negative_or_non_finite_durations(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        vn_calendar().add(AWARE, seconds)


@pytest.mark.parametrize(
    ("hours", "holidays", "message"),
    [
        pytest.param((((),) * 7), frozenset(), "no opening hours", id="never-open"),
        pytest.param(((((time(9), time(8)),),) + ((),) * 6), frozenset(), "closes before", id="inverted"),
        pytest.param(
            ((((time(8), time(12)), (time(11), time(13))),) + ((),) * 6),
            frozenset(),
            "overlaps",
            id="overlap",
        ),
        pytest.param((((),) * 6), frozenset(), "one entry per weekday", id="six-days"),
    ],
)
def test_calendar_refuses_bad_hours(
    hours: tuple[tuple[tuple[time, time], ...], ...], holidays: frozenset[date], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(HCM, hours, holidays)


def test_a_calendar_closed_only_on_holidays_still_needs_a_weekday() -> None:
    # Every weekday closed is refused even with holidays: add() would otherwise never end.
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar(HCM, ((),) * 7, TET_2026)


aware_instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=st.sampled_from([UTC, HCM, BERLIN, NEW_YORK]),
)


@settings(max_examples=300, deadline=None)
@given(
    start=aware_instants,
    seconds=st.floats(min_value=0, max_value=2000 * HOUR, allow_nan=False),
    which=st.sampled_from(["vn", "berlin"]),
)
def test_between_is_the_inverse_of_add(start: datetime, seconds: float, which: str) -> None:
    calendar = vn_calendar() if which == "vn" else berlin_calendar()
    due = calendar.add(start, seconds)
    assert due >= start
    assert abs(calendar.between(start, due) - seconds) <= 2e-6
    # The deadline itself is business time or the close that ends it, never a closed stretch.
    assert calendar.is_open(due) or calendar.is_open(due - timedelta(microseconds=1))


def brute_force_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Counts 30-minute slots one by one (every boundary of vn_calendar is on a half hour)."""
    slot = timedelta(minutes=30)
    total, at = 0.0, start
    while at < end:
        if calendar.is_open(at):
            total += slot.total_seconds()
        at += slot
    return total


@settings(max_examples=100, deadline=None)
@given(
    start_slot=st.integers(min_value=0, max_value=48 * 60),
    length_slots=st.integers(min_value=0, max_value=48 * 21),
)
def test_between_matches_counting_slots_one_by_one(start_slot: int, length_slots: int) -> None:
    calendar = vn_calendar()
    start = vn("2026-02-01", "00:00") + timedelta(minutes=30 * start_slot)
    end = start + timedelta(minutes=30 * length_slots)
    assert calendar.between(start, end) == brute_force_between(calendar, start, end)


# --- the policy ---------------------------------------------------------------------------------

MINUTES = {  # (first response, resolution) in minutes, business hours unless noted
    Priority.URGENT: {"vip": (15, 240), "gold": (30, 480), "standard": (60, 960)},
    Priority.HIGH: {"vip": (30, 480), "gold": (60, 960), "standard": (120, 1530)},
    Priority.NORMAL: {"vip": (60, 1020), "gold": (120, 1530), "standard": (240, 1020)},
    Priority.LOW: {"vip": (240, 2550), "gold": (480, 4080), "standard": (510, 5100)},
}


def policy() -> SlaPolicy:
    targets = {
        (priority, tier): SlaTarget(
            first * 60, resolution * 60, not (priority is Priority.URGENT and tier == "vip")
        )
        for priority, by_tier in MINUTES.items()
        for tier, (first, resolution) in by_tier.items()
    }
    return SlaPolicy(vn_calendar(), TIERS, targets)


@pytest.mark.parametrize(
    ("tier", "used"),
    [("vip", "vip"), ("gold", "gold"), ("standard", "standard"), ("platinum", "standard"), ("", "standard")],
)
def test_target_falls_back_to_the_least_important_tier(tier: str, used: str) -> None:
    first, resolution = MINUTES[Priority.HIGH][used]
    assert policy().target(Priority.HIGH, tier) == SlaTarget(first * 60, resolution * 60, True)


@pytest.mark.parametrize(
    ("tier", "rank", "top"),
    [("vip", 2, True), ("gold", 1, False), ("standard", 0, False), ("platinum", 0, False)],
)
def test_tier_rank_and_top_tier(tier: str, rank: int, top: bool) -> None:
    assert policy().tier_rank(tier) == rank
    assert policy().is_top_tier(tier) is top


@pytest.mark.parametrize(
    ("opened_at", "priority", "tier", "first_due", "resolution_due"),
    [
        # 4 business hours: 09:00-12:00 and 13:00-14:00; 17 hours: Monday 7.5, Tuesday 8.5, Wednesday 1.
        pytest.param(
            vn("2026-03-02", "09:00"),
            Priority.NORMAL,
            "standard",
            vn("2026-03-02", "14:00"),
            vn("2026-03-04", "09:00"),
            id="normal-standard",
        ),
        pytest.param(
            vn("2026-03-07", "20:00"),
            Priority.URGENT,
            "vip",
            vn("2026-03-07", "20:15"),
            vn("2026-03-08", "00:00"),
            id="urgent-vip-counts-24-7",
        ),
        pytest.param(
            vn("2026-03-07", "20:00"),
            Priority.URGENT,
            "gold",
            vn("2026-03-09", "08:30"),
            vn("2026-03-09", "17:00"),
            id="urgent-gold-waits-for-monday",
        ),
        pytest.param(
            vn("2026-03-07", "20:00"),
            Priority.URGENT,
            "newly-invented",
            vn("2026-03-09", "09:00"),
            vn("2026-03-10", "16:30"),
            id="unknown-tier-gets-standard",
        ),
    ],
)
def test_deadlines(
    opened_at: datetime, priority: Priority, tier: str, first_due: datetime, resolution_due: datetime
) -> None:
    assert policy().deadlines(opened_at, priority, tier) == SlaDeadlines(first_due, resolution_due)


@pytest.mark.parametrize(
    ("due", "paused_at", "resumed_at", "priority", "tier", "expected"),
    [
        # Paused 1.5 h on Monday and 1 h on Tuesday morning: 10:00 + 2.5 h, over lunch.
        pytest.param(
            vn("2026-03-03", "10:00"),
            vn("2026-03-02", "16:00"),
            vn("2026-03-03", "09:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-03", "13:30"),
            id="moves-by-paused-business-time",
        ),
        pytest.param(
            vn("2026-03-09", "10:00"),
            vn("2026-03-07", "13:00"),
            vn("2026-03-08", "18:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-09", "10:00"),
            id="paused-while-closed-does-not-move",
        ),
        pytest.param(
            vn("2026-03-02", "17:30"),
            vn("2026-03-02", "12:10"),
            vn("2026-03-02", "12:50"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-02", "17:30"),
            id="due-at-close-paused-over-lunch-stays",
        ),
        pytest.param(
            vn("2026-03-02", "10:00"),
            vn("2026-03-02", "11:00"),
            vn("2026-03-03", "09:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-02", "10:00"),
            id="already-breached-does-not-move",
        ),
        pytest.param(
            vn("2026-03-02", "11:00"),
            vn("2026-03-02", "11:00"),
            vn("2026-03-02", "16:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-02", "11:00"),
            id="due-at-the-pause-instant-is-breached",
        ),
        pytest.param(
            vn("2026-03-02", "11:00"),
            vn("2026-03-02", "10:00"),
            vn("2026-03-02", "09:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-02", "11:00"),
            id="resumed-before-paused-is-ignored",
        ),
        # The pause outlasts the deadline: what was left at the pause (1 h) runs from resumption.
        pytest.param(
            vn("2026-03-02", "11:00"),
            vn("2026-03-02", "10:00"),
            vn("2026-03-03", "15:00"),
            Priority.NORMAL,
            "gold",
            vn("2026-03-03", "16:00"),
            id="pause-past-the-deadline",
        ),
        pytest.param(
            vn("2026-03-07", "23:00"),
            vn("2026-03-07", "21:00"),
            vn("2026-03-08", "03:00"),
            Priority.URGENT,
            "vip",
            vn("2026-03-08", "05:00"),
            id="24-7-target-moves-by-wall-clock",
        ),
    ],
)
def test_resolution_due_after_pause(
    due: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    priority: Priority,
    tier: str,
    expected: datetime,
) -> None:
    assert policy().resolution_due_after_pause(due, paused_at, resumed_at, priority, tier) == expected


@pytest.mark.parametrize(
    ("at", "priority", "tier", "expected"),
    [
        # 17 business hours from Wednesday 09:00: Wednesday 7.5, Thursday 8.5, Friday 1.
        pytest.param(
            vn("2026-03-04", "09:00"), Priority.NORMAL, "vip", vn("2026-03-06", "09:00"), id="business"
        ),
        pytest.param(vn("2026-03-08", "22:00"), Priority.URGENT, "vip", vn("2026-03-09", "02:00"), id="24-7"),
    ],
)
def test_restart_resolution_on_reopen(
    at: datetime, priority: Priority, tier: str, expected: datetime
) -> None:
    assert policy().restart_resolution(at, priority, tier) == expected


@pytest.mark.parametrize(
    ("first_s", "resolution_s", "message"),
    [(0, 60, "first_response_s"), (60, -1, "resolution_s"), (120, 60, "longer than resolution")],
)
def test_target_refuses_impossible_values(first_s: int, resolution_s: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlaTarget(first_s, resolution_s)


def test_policy_refuses_missing_combinations() -> None:
    targets = dict(policy().targets)
    del targets[(Priority.LOW, "gold")]
    with pytest.raises(ValueError, match="low/gold"):
        SlaPolicy(vn_calendar(), TIERS, targets)


# --- the loaders --------------------------------------------------------------------------------


def test_shipped_config_loads_and_is_sensible() -> None:
    loaded = load_sla_policy(CONFIG / "sla.toml", CONFIG / "calendar.toml", tiers=TIERS)
    assert loaded.tiers == TIERS
    assert loaded.calendar.time_zone.key == "Asia/Ho_Chi_Minh"
    assert {
        date(2026, 1, 1),
        date(2026, 2, 17),
        date(2026, 9, 2),
        date(2027, 2, 8),
    } <= loaded.calendar.holidays
    assert loaded.calendar.hours[0] == WEEKDAY
    assert loaded.calendar.hours[6] == ()
    assert loaded.target(Priority.URGENT, "vip").business_hours is False
    # A higher tier and a higher priority never get a looser target.
    by_urgency = sorted(Priority, key=lambda p: p.rank, reverse=True)
    for priority in by_urgency:
        firsts = [loaded.target(priority, tier).first_response_s for tier in TIERS]
        assert firsts == sorted(firsts)
    for tier in TIERS:
        resolutions = [loaded.target(priority, tier).resolution_s for priority in by_urgency]
        assert resolutions == sorted(resolutions)
    # The Friday before Tết: the break closes everything until Monday 23 February.
    opened = vn("2026-02-13", "17:00")
    assert loaded.deadlines(opened, Priority.HIGH, "gold").first_response_due == vn("2026-02-23", "08:30")


CALENDAR_OK = """
time_zone = "Asia/Ho_Chi_Minh"
holidays = ["2026-02-17", 2026-02-18]
[hours]
mon = ["08:00-12:00", "13:00-17:30"]
tue = ["13:00-17:30", "08:00-12:00"]
wed = ["08:00-17:00"]
thu = ["08:00-17:00"]
fri = ["08:00-17:00"]
sat = []
sun = []
"""

SLA_OK = "\n".join(
    f"[{priority.value}]\n"
    + "\n".join(
        f"{tier} = {{ first_response_min = {f}, resolution_min = {r} }}" for tier, (f, r) in by_tier.items()
    )
    for priority, by_tier in MINUTES.items()
)


def test_parse_accepts_toml_dates_and_unsorted_intervals() -> None:
    parsed = parse_sla_policy(SLA_OK, CALENDAR_OK, tiers=TIERS)
    assert parsed.calendar.holidays == {date(2026, 2, 17), date(2026, 2, 18)}
    assert parsed.calendar.hours[1] == WEEKDAY
    assert parsed.target(Priority.LOW, "gold") == SlaTarget(480 * 60, 4080 * 60, True)


def test_parse_always_open_calendar() -> None:
    parsed = parse_sla_policy(SLA_OK, 'time_zone = "Europe/Berlin"\nalways_open = true\n', tiers=TIERS)
    assert parsed.calendar.twenty_four_seven
    assert parsed.calendar.is_open(berlin("2026-03-29", "03:30"))


BAD_CALENDAR = """
time_zone = "Mars/Olympus_Mons"
holidays = ["2026-02-30", "tet", "2026-04-30", "2026-04-30"]
colour = "blue"
[hours]
mon = ["25:00-26:00"]
tue = ["17:00-08:00"]
wed = ["08:00-12:00", "11:00-13:00"]
thur = ["08:00-12:00"]
fri = "08:00-17:00"
sat = ["8 to 12"]
"""

BAD_SLA = """
[critical]
vip = { first_response_min = 5, resolution_min = 60 }
[urgent]
vip = { first_response_min = 0, resolution_min = 240, business_hours = false }
gold = { first_response_min = 30, resolution_min = 480 }
standard = { first_response_min = 60, resolution_min = 960 }
[high]
vip = { first_response_min = 30, resolution_min = 480 }
gold = { first_response_min = 600, resolution_min = 60 }
standard = { first_response_min = 120, resolution_min = 1530, business_hours = "yes" }
platinum = { first_response_min = 1, resolution_min = 2 }
[normal]
vip = { first_response_min = 60, resolution_min = 1020, escalate = true }
standard = { first_response_min = -5, resolution_min = 2550.5 }
"""


def test_a_bad_config_reports_every_problem_at_once() -> None:
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_policy(BAD_SLA, BAD_CALENDAR, tiers=TIERS)
    problems = caught.value.problems
    expected = [
        "calendar.toml: time_zone: unknown time zone 'Mars/Olympus_Mons'",
        "calendar.toml: colour: unknown key",
        "calendar.toml: holidays[0]: '2026-02-30' is not a date",
        "calendar.toml: holidays[1]: 'tet' is not a date",
        "calendar.toml: holidays[3]: 2026-04-30 is listed twice",
        "calendar.toml: hours.mon[0]: '25:00-26:00' has a time that does not exist (25:00, 26:00",
        "calendar.toml: hours.tue[0]: '17:00-08:00' closes before it opens",
        "calendar.toml: hours.wed: '11:00-13:00' overlaps '08:00-12:00'",
        "calendar.toml: hours.thur: unknown weekday",
        "calendar.toml: hours.thu: missing",
        "calendar.toml: hours.fri: must be a list",
        "calendar.toml: hours.sat[0]: '8 to 12' is not an interval",
        "calendar.toml: hours.sun: missing",
        "sla.toml: [critical]: unknown priority",
        "sla.toml: [low]: missing",
        "sla.toml: urgent.vip.first_response_min: must be a whole number of minutes > 0, not 0",
        "sla.toml: high.gold: first_response_min (600) is longer than resolution_min (60)",
        "sla.toml: high.standard.business_hours: must be true or false, not 'yes'",
        "sla.toml: high.platinum: unknown tier",
        "sla.toml: normal.vip.escalate: unknown key",
        "sla.toml: normal.gold: missing",
        "sla.toml: normal.standard.first_response_min: must be a whole number of minutes > 0, not -5",
        "sla.toml: normal.standard.resolution_min: must be a whole number of minutes > 0, not 2550.5",
    ]
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), (fragment, problems)
    assert len(problems) == len(expected), problems
    assert "invalid SLA configuration" in str(caught.value)


@pytest.mark.parametrize(
    ("sla", "calendar", "tiers", "fragment"),
    [
        pytest.param("[low\n", CALENDAR_OK, TIERS, "sla.toml: not valid TOML", id="sla-not-toml"),
        pytest.param(SLA_OK, "time_zone = ", TIERS, "calendar.toml: not valid TOML", id="calendar-not-toml"),
        pytest.param(
            SLA_OK,
            CALENDAR_OK.replace("time_zone", "#"),
            TIERS,
            "calendar.toml: time_zone: required",
            id="no-zone",
        ),
        pytest.param(
            SLA_OK,
            CALENDAR_OK.split("[hours]")[0] + "[hours]\n" + "\n".join(f"{d} = []" for d in WEEKDAYS),
            TIERS,
            "calendar.toml: hours: open on no weekday",
            id="never-open",
        ),
        pytest.param(
            SLA_OK, CALENDAR_OK.split("[hours]")[0], TIERS, "calendar.toml: hours: required", id="no-hours"
        ),
        pytest.param(
            SLA_OK,
            'time_zone = "UTC"\nalways_open = true\nholidays = ["2026-01-01"]\n',
            TIERS,
            "calendar.toml: always_open: a 24/7 calendar takes no [hours] and no holidays",
            id="always-open-with-holidays",
        ),
        pytest.param(SLA_OK, CALENDAR_OK, (), "tiers: no customer tiers", id="no-tiers"),
        pytest.param(
            SLA_OK, CALENDAR_OK, ("vip", "vip", "gold", "standard"), "tiers: listed more than once", id="dup"
        ),
    ],
)
def test_parse_problem(sla: str, calendar: str, tiers: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_policy(sla, calendar, tiers=tiers)
    assert any(p.startswith(fragment) for p in caught.value.problems), caught.value.problems


def test_load_reports_a_missing_file_and_the_other_file_problems(tmp_path: Path) -> None:
    calendar_path = tmp_path / "calendar.toml"
    calendar_path.write_text(CALENDAR_OK.replace("Asia/Ho_Chi_Minh", "Asia/Atlantis"), "utf-8")
    sla_path = tmp_path / "missing-sla.toml"
    with pytest.raises(SlaConfigError) as caught:
        load_sla_policy(sla_path, calendar_path, tiers=TIERS)
    assert caught.value.problems == [
        f"{sla_path}: file not found",
        f"{calendar_path}: time_zone: unknown time zone 'Asia/Atlantis'",
    ]


def test_load_names_the_files_it_read(tmp_path: Path) -> None:
    (tmp_path / "sla.toml").write_text(SLA_OK.replace("[low]", "[lowest]"), "utf-8")
    (tmp_path / "calendar.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(SlaConfigError) as caught:
        load_sla_policy(tmp_path / "sla.toml", tmp_path / "calendar.toml", tiers=TIERS)
    problems = caught.value.problems
    assert any(p.startswith(f"{tmp_path / 'calendar.toml'}: cannot be read") for p in problems), problems
    assert any(p.startswith(f"{tmp_path / 'sla.toml'}: [lowest]: unknown priority") for p in problems), (
        problems
    )


def test_load_reads_good_files(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(SLA_OK, "utf-8")
    (tmp_path / "c.toml").write_text(CALENDAR_OK, "utf-8")
    loaded = load_sla_policy(tmp_path / "s.toml", tmp_path / "c.toml", tiers=TIERS)
    assert loaded == parse_sla_policy(SLA_OK, CALENDAR_OK, tiers=TIERS)
