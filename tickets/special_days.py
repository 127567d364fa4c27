"""Special-day greetings (pure rules): whose birthday or customer anniversary it is, and what we say.

"Today" is the calendar day where the call center is (`GreetingSettings.timezone`), and nobody
is greeted before `send_from_hour` there. Someone born on 29 February is greeted on 28 February
in years without one. The outbox keeps one greeting per customer, occasion and year, so running
the daily job again (or on two nodes) never greets anyone twice.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Occasion(enum.Enum):
    """What a greeting celebrates; its value is the notice kind in the outbox."""

    BIRTHDAY = "birthday_greeting"
    ANNIVERSARY = "anniversary_greeting"


@dataclass(frozen=True)
class GreetingSettings:
    """Where "today" is, from what hour greetings go out, and on which notice channel."""

    timezone: str = "Asia/Ho_Chi_Minh"
    send_from_hour: int = 9
    channel: str = "email"
    company_name: str = "Hotline"

    def __post_init__(self) -> None:
        if not 0 <= self.send_from_hour <= 23:
            raise ValueError("send_from_hour must be 0..23")
        ZoneInfo(self.timezone)


class Celebrant(Protocol):
    """A customer who has not opted out of greetings, with their special days (the customers' record)."""

    @property
    def customer_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def birthday(self) -> date | None: ...
    @property
    def anniversary(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class Greeting:
    """One greeting due today: to whom, for what, for which year, and how many years it marks."""

    customer_id: int
    name: str
    email: str | None
    phone: str | None
    occasion: Occasion
    year: int
    years: int


def greeting_day(now: datetime, settings: GreetingSettings) -> date | None:
    """The local day whose greetings may go out at `now`, or None before `send_from_hour` there."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    return local.date() if local.hour >= settings.send_from_hour else None


def days_celebrated_on(today: date) -> tuple[tuple[int, int], ...]:
    """The (month, day) pairs celebrated today: today, and 29 February on the 28th of a common year."""
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return tuple(days)


def falls_on(special: date, today: date) -> bool:
    """True if a yearly day that started on `special` is celebrated on `today` (a later year)."""
    return special.year < today.year and (special.month, special.day) in days_celebrated_on(today)


def due_greetings(celebrants: Iterable[Celebrant], today: date) -> list[Greeting]:
    """Every birthday and anniversary greeting due on `today`, in customer order."""
    due: list[Greeting] = []
    for person in celebrants:
        for occasion, special in (
            (Occasion.BIRTHDAY, person.birthday),
            (Occasion.ANNIVERSARY, person.anniversary),
        ):
            if special is not None and falls_on(special, today):
                due.append(
                    Greeting(
                        person.customer_id,
                        person.name,
                        person.email,
                        person.phone,
                        occasion,
                        today.year,
                        today.year - special.year,
                    )
                )
    return due


def render_greeting(greeting: Greeting, company_name: str) -> tuple[str, str]:
    """Subject and plain-text body of a birthday or anniversary greeting."""
    name = greeting.name or "customer"
    if greeting.occasion is Occasion.BIRTHDAY:
        subject = f"Happy birthday, {name}!"
        line = f"all of us at {company_name} wish you a happy birthday and a wonderful year ahead."
    else:
        plural = "year" if greeting.years == 1 else "years"
        subject = f"{greeting.years} {plural} together: thank you, {name}!"
        line = (
            f"today it is {greeting.years} {plural} since you became a customer of {company_name}.\n"
            "Thank you for your trust; we are glad to be at your service."
        )
    body = (
        f"Dear {name},\n\n{line}\n\n"
        "If you would rather not receive these greetings, reply to this message or tell us on\n"
        "your next call and we will stop.\n"
    )
    return subject, body
