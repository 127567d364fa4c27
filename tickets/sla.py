"""SLA clocks: business calendars, targets per priority and tier, and the deadlines they give (pure).

Targets count business time from a `BusinessCalendar` (weekly opening hours in local wall-clock time,
holidays closed all day) or wall-clock time 24/7. Waiting on the customer pauses the resolution
clock; a reopened ticket gets a fresh resolution target. Time is always passed in, timezone-aware.
Only `load_sla_policy` touches files.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickets.errors import SlaConfigError
from tickets.model import Priority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[time, time]
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)


def _require_aware(name: str, value: datetime) -> datetime:
    """`value` in UTC; naive datetimes are refused because their instant is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    # Comparing aware datetimes that share a tzinfo ignores `fold`, so everything is compared in UTC.
    return value.astimezone(UTC)


def _duration(seconds: float) -> timedelta:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the call center counts SLA time: weekly local opening hours minus holidays, or 24/7."""

    time_zone: ZoneInfo
    # Monday first, one entry per weekday; each a sorted tuple of non-overlapping (open, close).
    hours: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    twenty_four_seven: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.time_zone, ZoneInfo):
            raise TypeError(f"time_zone must be a zoneinfo.ZoneInfo, got {self.time_zone!r}")
        if len(self.hours) != 7:
            raise ValueError(f"hours needs one entry per weekday Mon..Sun, got {len(self.hours)}")
        for day, intervals in zip(WEEKDAYS, self.hours, strict=True):
            previous_close: time | None = None
            for opens, closes in intervals:
                if opens.tzinfo is not None or closes.tzinfo is not None:
                    raise ValueError(f"{day}: opening hours are local wall-clock times, without tzinfo")
                if not opens < closes:
                    raise ValueError(f"{day}: {opens:%H:%M}-{closes:%H:%M} closes before it opens")
                if previous_close is not None and opens < previous_close:
                    raise ValueError(f"{day}: {opens:%H:%M}-{closes:%H:%M} overlaps or is out of order")
                previous_close = closes
        if self.twenty_four_seven:
            if any(self.hours) or self.holidays:
                raise ValueError("a 24/7 calendar has no opening hours or holidays")
        elif not any(self.hours):
            # Without this, add() would search for an opening forever.
            raise ValueError("the calendar has no opening hours on any weekday; use always_open() for 24/7")

    @classmethod
    def always_open(cls, time_zone: ZoneInfo | None = None) -> BusinessCalendar:
        """The 24/7 calendar: every second counts, holidays included."""
        return cls(time_zone or ZoneInfo("UTC"), twenty_four_seven=True)

    def _openings(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC instants of `day`'s local opening intervals (none on a holiday)."""
        # Cached: the escalation sweep evaluates thousands of tickets over the same few days.
        return _openings_of(self, day)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.time_zone).date()

    def add(self, start: datetime, seconds: float) -> datetime:
        """The UTC instant after `seconds` of business time from `start`.

        Counting begins at the next opening when `start` is outside hours; ending exactly at a
        close gives that close instant, not the next morning.
        """
        cursor = _require_aware("start", start)
        remaining = _duration(seconds)
        if self.twenty_four_seven:
            return cursor + remaining
        day = self._local_date(cursor)
        # One step per local day: a 2,000-hour target is about 330 steps, never minute by minute.
        # Terminates because __post_init__ guarantees some open weekday and holidays are finite.
        while True:
            for opens, closes in self._openings(day):
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = closes
            day += _ONE_DAY

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); 0 when end <= start."""
        first = _require_aware("start", start)
        last = _require_aware("end", end)
        if last <= first:
            return 0.0
        if self.twenty_four_seven:
            return (last - first).total_seconds()
        # Summed as timedelta (whole microseconds) so long spans do not accumulate float error.
        total = _ZERO
        day = self._local_date(first)
        last_day = self._local_date(last)
        while day <= last_day:
            for opens, closes in self._openings(day):
                begin, finish = max(opens, first), min(closes, last)
                if finish > begin:
                    total += finish - begin
            day += _ONE_DAY
        return total.total_seconds()

    def is_open(self, at: datetime) -> bool:
        """Whether the instant `at` counts as business time (open at opening, closed at close)."""
        instant = _require_aware("at", at)
        if self.twenty_four_seven:
            return True
        return any(opens <= instant < closes for opens, closes in self._openings(self._local_date(instant)))


@functools.lru_cache(maxsize=4096)
def _openings_of(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    if day in calendar.holidays:
        return ()
    result = []
    for opens, closes in calendar.hours[day.weekday()]:
        start = datetime.combine(day, opens, calendar.time_zone).astimezone(UTC)
        end = datetime.combine(day, closes, calendar.time_zone).astimezone(UTC)
        # A local time skipped by a DST change can make an interval empty or inverted.
        if end > start:
            result.append((start, end))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How long first response and resolution may take, in business hours or wall-clock 24/7."""

    first_response_s: int
    resolution_s: int
    business_hours: bool = True

    def __post_init__(self) -> None:
        for name in ("first_response_s", "resolution_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a whole number of seconds > 0, got {value!r}")
        if self.first_response_s > self.resolution_s:
            raise ValueError(
                f"first response ({self.first_response_s} s) cannot take longer than resolution ({self.resolution_s} s)"
            )


@dataclass(frozen=True, slots=True)
class SlaDeadlines:
    """When a ticket must first be answered and when it must be resolved (UTC)."""

    first_response_due: datetime
    resolution_due: datetime


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The calendar, the customer tiers (most important first) and a target per (priority, tier)."""

    calendar: BusinessCalendar
    tiers: tuple[str, ...]
    targets: Mapping[tuple[Priority, str], SlaTarget] = field(hash=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("an SLA policy needs at least one customer tier")
        if len(set(self.tiers)) != len(self.tiers):
            raise ValueError(f"tiers must be distinct, got {self.tiers!r}")
        missing = [f"{p.value}/{t}" for p in Priority for t in self.tiers if (p, t) not in self.targets]
        if missing:
            raise ValueError(f"no SLA target for {', '.join(missing)}")
        extra = [f"{p}/{t}" for p, t in self.targets if t not in self.tiers]
        if extra:
            raise ValueError(f"SLA targets for unknown tiers: {', '.join(extra)}")
        # A read-only copy, so a frozen policy cannot change under a caller holding the dict.
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))

    def _known(self, tier: str) -> str:
        # A tier new to the config gets the least important tier's targets, never no deadline.
        return tier if tier in self.tiers else self.tiers[-1]

    def target(self, priority: Priority, tier: str) -> SlaTarget:
        """The targets for `priority` and `tier`; an unknown tier gets the least important tier's."""
        return self.targets[(priority, self._known(tier))]

    def _clock(self, target: SlaTarget) -> BusinessCalendar:
        if target.business_hours:
            return self.calendar
        return BusinessCalendar.always_open(self.calendar.time_zone)

    def deadlines(self, opened_at: datetime, priority: Priority, tier: str) -> SlaDeadlines:
        """Both deadlines of a ticket opened at `opened_at`."""
        target = self.target(priority, tier)
        clock = self._clock(target)
        return SlaDeadlines(
            first_response_due=clock.add(opened_at, target.first_response_s),
            resolution_due=clock.add(opened_at, target.resolution_s),
        )

    def resolution_due_after_pause(
        self, due: datetime, paused_at: datetime, resumed_at: datetime, priority: Priority, tier: str
    ) -> datetime:
        """The resolution deadline moved later by the business time spent waiting on the customer.

        A deadline already passed when the pause began does not move: waiting cannot undo a breach.
        """
        due_utc = _require_aware("due", due)
        paused = _require_aware("paused_at", paused_at)
        resumed = _require_aware("resumed_at", resumed_at)
        if due_utc <= paused or resumed <= paused:
            return due_utc
        clock = self._clock(self.target(priority, tier))
        paused_s = clock.between(paused, resumed)
        if paused_s == 0:
            # add(due, 0) would roll a deadline at a close instant to the next opening.
            return due_utc
        return clock.add(due_utc, paused_s)

    def restart_resolution(self, at: datetime, priority: Priority, tier: str) -> datetime:
        """A fresh resolution deadline for a ticket reopened at `at`."""
        target = self.target(priority, tier)
        return self._clock(target).add(at, target.resolution_s)

    def tier_rank(self, tier: str) -> int:
        """Higher is more important; the least important tier is 0 and an unknown tier ranks with it."""
        return len(self.tiers) - 1 - self.tiers.index(self._known(tier))

    def is_top_tier(self, tier: str) -> bool:
        """Whether `tier` is the first, most important tier."""
        return tier == self.tiers[0]


# --- loaders ---------------------------------------------------------------------------------

_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_CALENDAR_KEYS = {"time_zone", "holidays", "hours", "always_open"}
_TARGET_KEYS = {"first_response_min", "resolution_min", "business_hours"}


def parse_sla_policy(
    sla_toml_text: str,
    calendar_toml_text: str,
    *,
    tiers: Sequence[str],
    sla_source: str = "sla.toml",
    calendar_source: str = "calendar.toml",
) -> SlaPolicy:
    """Build the policy from the two TOML texts; SlaConfigError lists every problem found in both."""
    problems: list[str] = []
    return _build_policy(sla_toml_text, calendar_toml_text, tiers, sla_source, calendar_source, problems)


def load_sla_policy(sla_path: Path, calendar_path: Path, *, tiers: Sequence[str]) -> SlaPolicy:
    """Read and parse config/sla.toml and config/calendar.toml; SlaConfigError lists every problem."""
    problems: list[str] = []
    sla_text = _read_text(sla_path, problems)
    calendar_text = _read_text(calendar_path, problems)
    # An unreadable file is one problem; the readable one is still checked and reported alongside.
    return _build_policy(sla_text, calendar_text, tiers, str(sla_path), str(calendar_path), problems)


def _build_policy(
    sla_text: str | None,
    calendar_text: str | None,
    tiers: Sequence[str],
    sla_source: str,
    calendar_source: str,
    problems: list[str],
) -> SlaPolicy:
    tier_names = tuple(tiers)
    if not tier_names:
        problems.append("tiers: no customer tiers were given")
    elif len(set(tier_names)) != len(tier_names):
        problems.append(f"tiers: listed more than once in {list(tier_names)}")
    calendar = None
    if calendar_text is not None:
        calendar = _parse_calendar(
            _parse_toml(calendar_text, calendar_source, problems), calendar_source, problems
        )
    targets: dict[tuple[Priority, str], SlaTarget] = {}
    if sla_text is not None:
        targets = _parse_targets(
            _parse_toml(sla_text, sla_source, problems), tier_names, sla_source, problems
        )
    if problems or calendar is None:
        raise SlaConfigError(problems)
    return SlaPolicy(calendar, tier_names, targets)


def _read_text(path: Path, problems: list[str]) -> str | None:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read: {exc}")
    return None


def _parse_toml(text: str, source: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{source}: not valid TOML: {exc}")
        return None


def _parse_calendar(
    document: dict[str, Any] | None, source: str, problems: list[str]
) -> BusinessCalendar | None:
    if document is None:
        return None
    before = len(problems)
    for key in sorted(set(document) - _CALENDAR_KEYS):
        problems.append(f"{source}: {key}: unknown key (expected {', '.join(sorted(_CALENDAR_KEYS))})")

    zone: ZoneInfo | None = None
    zone_name = document.get("time_zone")
    if not isinstance(zone_name, str) or not zone_name:
        problems.append(f'{source}: time_zone: required, an IANA name such as "Asia/Ho_Chi_Minh"')
    else:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{source}: time_zone: unknown time zone {zone_name!r}")

    always_open = document.get("always_open", False)
    if not isinstance(always_open, bool):
        problems.append(f"{source}: always_open: must be true or false, not {always_open!r}")
        always_open = False

    holidays = _parse_holidays(document.get("holidays", []), source, problems)
    raw_hours = document.get("hours")
    if always_open:
        if raw_hours is not None or holidays:
            problems.append(f"{source}: always_open: a 24/7 calendar takes no [hours] and no holidays")
        if zone is None or len(problems) > before:
            return None
        return BusinessCalendar.always_open(zone)

    hours = _parse_hours(raw_hours, source, problems)
    if hours is not None and not any(hours):
        problems.append(f"{source}: hours: open on no weekday; set always_open = true for a 24/7 calendar")
    if zone is None or hours is None or len(problems) > before:
        return None
    return BusinessCalendar(zone, hours, holidays)


def _parse_holidays(raw: Any, source: str, problems: list[str]) -> frozenset[date]:
    if not isinstance(raw, list):
        problems.append(f'{source}: holidays: must be a list of dates such as ["2026-01-01"]')
        return frozenset()
    days: set[date] = set()
    for index, item in enumerate(raw):
        key = f"{source}: holidays[{index}]"
        # TOML's own local dates are accepted too; a date-time is not a holiday.
        if isinstance(item, date) and not isinstance(item, datetime):
            day = item
        elif isinstance(item, str):
            try:
                day = date.fromisoformat(item)
            except ValueError:
                problems.append(f"{key}: {item!r} is not a date (YYYY-MM-DD)")
                continue
        else:
            problems.append(f"{key}: {item!r} is not a date (YYYY-MM-DD)")
            continue
        if day in days:
            problems.append(f"{key}: {day.isoformat()} is listed twice")
        days.add(day)
    return frozenset(days)


def _parse_hours(raw: Any, source: str, problems: list[str]) -> tuple[tuple[Interval, ...], ...] | None:
    if not isinstance(raw, dict):
        problems.append(f'{source}: hours: required, a [hours] table with mon..sun = ["08:00-17:00"] or []')
        return None
    ok = True
    for key in sorted(set(raw) - set(WEEKDAYS)):
        problems.append(f"{source}: hours.{key}: unknown weekday (expected {', '.join(WEEKDAYS)})")
        ok = False
    week: list[tuple[Interval, ...]] = []
    for day in WEEKDAYS:
        if day not in raw:
            problems.append(f"{source}: hours.{day}: missing; write {day} = [] for a closed day")
            ok = False
            week.append(())
            continue
        items = raw[day]
        if not isinstance(items, list):
            problems.append(f'{source}: hours.{day}: must be a list such as ["08:00-12:00", "13:00-17:30"]')
            ok = False
            week.append(())
            continue
        intervals: list[tuple[Interval, str]] = []
        for index, item in enumerate(items):
            interval = _parse_interval(item, f"{source}: hours.{day}[{index}]", problems)
            if interval is None:
                ok = False
            else:
                intervals.append((interval, str(item)))
        intervals.sort()
        for (previous, previous_text), (current, current_text) in pairwise(intervals):
            if current[0] < previous[1]:
                problems.append(f"{source}: hours.{day}: {current_text!r} overlaps {previous_text!r}")
                ok = False
        week.append(tuple(interval for interval, _ in intervals))
    return tuple(week) if ok else None


def _parse_interval(item: Any, key: str, problems: list[str]) -> Interval | None:
    match = _INTERVAL.fullmatch(item.strip()) if isinstance(item, str) else None
    if match is None:
        problems.append(f'{key}: {item!r} is not an interval such as "08:00-12:00"')
        return None
    oh, om, ch, cm = (int(g) for g in match.groups())
    bad = [f"{h:02d}:{m:02d}" for h, m in ((oh, om), (ch, cm)) if h > 23 or m > 59]
    if bad:
        problems.append(f"{key}: {item!r} has a time that does not exist ({', '.join(bad)}; 00:00 to 23:59)")
        return None
    opens, closes = time(oh, om), time(ch, cm)
    if not opens < closes:
        problems.append(f"{key}: {item!r} closes before it opens (an interval cannot cross midnight)")
        return None
    return opens, closes


def _parse_targets(
    document: dict[str, Any] | None, tiers: tuple[str, ...], source: str, problems: list[str]
) -> dict[tuple[Priority, str], SlaTarget]:
    targets: dict[tuple[Priority, str], SlaTarget] = {}
    if document is None:
        return targets
    priorities = {p.value: p for p in Priority}
    for key in document:
        if key not in priorities:
            problems.append(f"{source}: [{key}]: unknown priority (expected {', '.join(priorities)})")
        elif not isinstance(document[key], dict):
            problems.append(f"{source}: {key}: must be a [{key}] table of tiers")
    for name, priority in priorities.items():
        table = document.get(name)
        if not isinstance(table, dict):
            if name not in document:
                problems.append(f"{source}: [{name}]: missing; every priority needs targets")
            continue
        for tier in table:
            if tier not in tiers:
                problems.append(f"{source}: {name}.{tier}: unknown tier (expected {', '.join(tiers)})")
        for tier in tiers:
            if tier not in table:
                problems.append(
                    f"{source}: {name}.{tier}: missing; every priority needs a target for every tier"
                )
                continue
            target = _parse_target(table[tier], f"{source}: {name}.{tier}", problems)
            if target is not None:
                targets[(priority, tier)] = target
    return targets


def _parse_target(raw: Any, key: str, problems: list[str]) -> SlaTarget | None:
    if not isinstance(raw, dict):
        problems.append(f"{key}: must be a table such as {{ first_response_min = 60, resolution_min = 480 }}")
        return None
    ok = True
    for name in sorted(set(raw) - _TARGET_KEYS):
        problems.append(f"{key}.{name}: unknown key (expected {', '.join(sorted(_TARGET_KEYS))})")
        ok = False
    minutes: dict[str, int] = {}
    for name in ("first_response_min", "resolution_min"):
        value = raw.get(name)
        if value is None:
            problems.append(f"{key}.{name}: missing")
            ok = False
        elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{key}.{name}: must be a whole number of minutes > 0, not {value!r}")
            ok = False
        else:
            minutes[name] = value
    business_hours = raw.get("business_hours", True)
    if not isinstance(business_hours, bool):
        problems.append(f"{key}.business_hours: must be true or false, not {business_hours!r}")
        ok = False
    if len(minutes) == 2 and minutes["first_response_min"] > minutes["resolution_min"]:
        problems.append(
            f"{key}: first_response_min ({minutes['first_response_min']}) is longer than "
            f"resolution_min ({minutes['resolution_min']})"
        )
        ok = False
    if not ok:
        return None
    return SlaTarget(minutes["first_response_min"] * 60, minutes["resolution_min"] * 60, business_hours)
