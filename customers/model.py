"""Customer records, tiers and contact history (pure data and validation rules)."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from customers.errors import InvalidCustomerError, InvalidPhoneError
from customers.phone import normalise_phone

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_PHONES = 10
MIN_BIRTH_YEAR = 1900
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_CUSTOMER_NO = re.compile(r"^[A-Za-z0-9._/-]{1,40}$")


class Tier(enum.StrEnum):
    """Service tier, ordered: VIP > GOLD > STANDARD, so `max(tiers)` is the most important.

    A tier is its text ("vip") wherever it goes: tickets, the call log and the IVR read it as text.
    """

    VIP = "vip"
    GOLD = "gold"
    STANDARD = "standard"

    # By importance, not by spelling (str would compare the letters).
    def __lt__(self, other: str) -> bool:
        return _importance(self, other) < 0

    def __le__(self, other: str) -> bool:
        return _importance(self, other) <= 0

    def __gt__(self, other: str) -> bool:
        return _importance(self, other) > 0

    def __ge__(self, other: str) -> bool:
        return _importance(self, other) >= 0


_IMPORTANCE = {Tier.STANDARD: 0, Tier.GOLD: 1, Tier.VIP: 2}


def _importance(tier: Tier, other: str) -> int:
    if not isinstance(other, Tier):
        raise TypeError(f"a tier compares only with a tier, not {other!r}")
    return _IMPORTANCE[tier] - _IMPORTANCE[other]


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as stored: phones are E.164, sorted."""

    id: int
    customer_no: str | None
    name: str
    email: str | None
    tier: Tier
    birthday: date | None
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SpecialDays:
    """A customer who may be greeted: their birthday and customer anniversary, and how to reach them."""

    customer_id: int
    name: str
    email: str | None
    phone: str | None
    birthday: date | None
    anniversary: date | None


@dataclass(frozen=True, slots=True)
class Interaction:
    """One entry of the customer's timeline (a call now, tickets later); `ref` points at its source."""

    occurred_at: datetime
    channel: str
    summary: str
    ref: str | None

    def __post_init__(self) -> None:
        # A naive time would be stored as if it were UTC and show hours off on the timeline.
        if self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at needs a time zone")


@dataclass(frozen=True, slots=True)
class CallerCard:
    """What a screen pop shows about a caller: the customer and their latest contacts, newest first."""

    customer: Customer
    interactions: tuple[Interaction, ...]


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A validated customer record ready to store; build it with `NewCustomer.create`.

    A None email, tier or birthday is "not stated": a new customer gets no email, the standard
    tier and no birthday; an update by import keeps what is stored.
    """

    name: str
    phones: tuple[str, ...]
    email: str | None
    tier: Tier | None
    birthday: date | None
    customer_no: str | None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        phones: Sequence[str],
        email: str | None = None,
        tier: Tier | None = None,
        birthday: date | None = None,
        customer_no: str | None = None,
        default_country: str = "VN",
    ) -> NewCustomer:
        """Validate and normalise every field at once; InvalidCustomerError lists each problem."""
        problems: dict[str, str] = {}
        # NFC, so "Trần" typed on any keyboard is one string; whitespace runs become one space.
        clean_name = " ".join(unicodedata.normalize("NFC", name).split())
        if not clean_name:
            problems["name"] = "required"
        elif len(clean_name) > MAX_NAME_CHARS:
            problems["name"] = f"at most {MAX_NAME_CHARS} characters"
        elif _has_control_characters(clean_name):
            problems["name"] = "control characters are not allowed"
        clean_email = email.strip() if email else None
        if clean_email and (
            len(clean_email) > MAX_EMAIL_CHARS
            or not _EMAIL.match(clean_email)
            or _has_control_characters(clean_email)
        ):
            problems["email"] = f"{email!r} is not an email address"
        clean_no = customer_no.strip() if customer_no else None
        if clean_no and not _CUSTOMER_NO.match(clean_no):
            problems["customer_no"] = "1-40 letters, digits, '.', '_', '/' or '-'"
        normalised: list[str] = []
        if not phones:
            problems["phone"] = "at least one phone number is required"
        elif len(phones) > MAX_PHONES:
            problems["phone"] = f"at most {MAX_PHONES} numbers"
        else:
            for raw in phones:
                try:
                    number = normalise_phone(raw, default_country)
                except InvalidPhoneError as exc:
                    problems["phone"] = str(exc)
                    break
                if number not in normalised:
                    normalised.append(number)
        if birthday is not None and birthday.year < MIN_BIRTH_YEAR:
            problems["birthday"] = f"before {MIN_BIRTH_YEAR}"
        if problems:
            raise InvalidCustomerError(problems)
        return cls(clean_name, tuple(normalised), clean_email or None, tier, birthday, clean_no or None)


def _has_control_characters(text: str) -> bool:
    # Names end up in pops, logs and possibly AMI variables, where CR/LF or NUL would break framing.
    return any(unicodedata.category(char) == "Cc" for char in text)
