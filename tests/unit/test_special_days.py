"""The special-day rules: whose day it is, 29 February, the local day and hour, and the greeting text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from tickets.special_days import (
    Celebrant,
    GreetingSettings,
    Occasion,
    days_celebrated_on,
    due_greetings,
    falls_on,
    greeting_day,
    render_greeting,
)

HCM = GreetingSettings(timezone="Asia/Ho_Chi_Minh", send_from_hour=9)


@pytest.mark.parametrize(
    ("special", "today", "celebrated"),
    [
        (date(1990, 3, 14), date(2026, 3, 14), True),
        (date(1990, 3, 14), date(2026, 3, 15), False),
        (date(1990, 3, 14), date(2026, 3, 13), False),
        # Born on 29 February: the 28th in common years, the 29th in leap years, never both.
        (date(1992, 2, 29), date(2026, 2, 28), True),
        (date(1992, 2, 29), date(2026, 3, 1), False),
        (date(1992, 2, 29), date(2028, 2, 29), True),
        (date(1992, 2, 29), date(2028, 2, 28), False),
        # Someone born on the 28th is greeted on the 28th only.
        (date(1990, 2, 28), date(2028, 2, 28), True),
        (date(1990, 2, 28), date(2028, 2, 29), False),
        # A date of this year is not an anniversary yet (a customer since today).
        (date(2026, 5, 2), date(2026, 5, 2), False),
        (date(2025, 5, 2), date(2026, 5, 2), True),
    ],
)
def test_a_yearly_day_falls_on(special: date, today: date, celebrated: bool) -> None:
    assert falls_on(special, today) is celebrated


@pytest.mark.parametrize(
    ("today", "days"),
    [
        (date(2026, 2, 28), ((2, 28), (2, 29))),
        (date(2028, 2, 28), ((2, 28),)),
        (date(2028, 2, 29), ((2, 29),)),
        (date(2026, 12, 31), ((12, 31),)),
    ],
)
def test_the_days_asked_for_include_29_february_on_the_28th_of_a_common_year(
    today: date, days: tuple[tuple[int, int], ...]
) -> None:
    assert days_celebrated_on(today) == days


@pytest.mark.parametrize(
    ("now", "settings", "day"),
    [
        # 01:59 UTC is 08:59 in Ho Chi Minh City: too early to greet anyone.
        (datetime(2026, 3, 14, 1, 59, tzinfo=UTC), HCM, None),
        (datetime(2026, 3, 14, 2, 0, tzinfo=UTC), HCM, date(2026, 3, 14)),
        # 20:00 UTC on the 13th is already the 14th, 03:00, in Ho Chi Minh City: still too early.
        (datetime(2026, 3, 13, 20, 0, tzinfo=UTC), HCM, None),
        # 17:30 UTC on the 13th is the 14th, 00:30 local: with no hour limit, the 14th's greetings go.
        (
            datetime(2026, 3, 13, 17, 30, tzinfo=UTC),
            GreetingSettings(timezone="Asia/Ho_Chi_Minh", send_from_hour=0),
            date(2026, 3, 14),
        ),
        # The same instant is still the 13th in New York.
        (
            datetime(2026, 3, 13, 17, 30, tzinfo=UTC),
            GreetingSettings(timezone="America/New_York", send_from_hour=9),
            date(2026, 3, 13),
        ),
    ],
)
def test_the_greeting_day_is_the_local_day_from_the_sending_hour(
    now: datetime, settings: GreetingSettings, day: date | None
) -> None:
    assert greeting_day(now, settings) == day


@dataclass(frozen=True)
class Person:
    customer_id: int
    name: str
    email: str | None
    phone: str | None
    birthday: date | None
    anniversary: date | None


def _person(customer_id: int, birthday: date | None, anniversary: date | None) -> Celebrant:
    return Person(
        customer_id, f"Customer {customer_id}", f"c{customer_id}@example.com", None, birthday, anniversary
    )


def test_due_greetings_lists_each_occasion_with_its_year_and_count() -> None:
    today = date(2026, 3, 14)
    people = [
        _person(1, date(1990, 3, 14), None),
        _person(2, date(1985, 3, 14), date(2016, 3, 14)),
        _person(3, date(1990, 3, 15), date(2020, 1, 1)),
        _person(4, None, date(2023, 3, 14)),
    ]
    assert [(g.customer_id, g.occasion, g.year, g.years) for g in due_greetings(people, today)] == [
        (1, Occasion.BIRTHDAY, 2026, 36),
        (2, Occasion.BIRTHDAY, 2026, 41),
        (2, Occasion.ANNIVERSARY, 2026, 10),
        (4, Occasion.ANNIVERSARY, 2026, 3),
    ]


def test_the_greetings_say_what_they_celebrate_and_how_to_stop_them() -> None:
    [birthday, anniversary] = due_greetings(
        [_person(7, date(1990, 3, 14), date(2025, 3, 14))], date(2026, 3, 14)
    )
    subject, body = render_greeting(birthday, "Acme Telecom")
    assert subject == "Happy birthday, Customer 7!"
    assert "Acme Telecom" in body
    assert "rather not receive these greetings" in body
    subject, body = render_greeting(anniversary, "Acme Telecom")
    assert subject == "1 year together: thank you, Customer 7!"
    assert "1 year since you became a customer of Acme Telecom" in body


def test_settings_refuse_an_unknown_zone_and_an_impossible_hour() -> None:
    with pytest.raises(ValueError, match="send_from_hour"):
        GreetingSettings(send_from_hour=24)
    with pytest.raises(Exception, match="Mars"):
        GreetingSettings(timezone="Mars/Olympus_Mons")
