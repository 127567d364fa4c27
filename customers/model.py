"""Customer records, tiers and contact history (pure data and validation rules)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from customers.errors import InvalidCustomerError, InvalidPhoneError
from customers.phone import normalise_phone

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_PHONES = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOMER_NO = re.compile(r"^[A-Za-z0-9._/-]{1,40}$")


class Tier(enum.Enum):
    """Service tier: VIP customers are served first, then gold, then everyone else."""

    VIP = "vip"
    GOLD = "gold"
    STANDARD = "standard"

    @property
    def rank(self) -> int:
        """0 for the most important tier; sort by it to serve important customers first."""
        return _TIER_RANK[self]


_TIER_RANK = {Tier.VIP: 0, Tier.GOLD: 1, Tier.STANDARD: 2}


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as stored: phones are E.164."""

    id: int
    customer_no: str | None
    name: str
    email: str | None
    tier: Tier
    birthday: date | None
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Interaction:
    """One entry of the customer's timeline (a call now, tickets later)."""

    occurred_at: datetime
    channel: str
    summary: str
    ref: str | None


@dataclass(frozen=True, slots=True)
class CallerCard:
    """What a screen pop shows about a caller: the customer and their latest contacts."""

    customer: Customer
    interactions: tuple[Interaction, ...]


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A validated customer record ready to store; build it with `NewCustomer.create`."""

    name: str
    phones: tuple[str, ...]
    email: str | None
    tier: Tier
    birthday: date | None
    customer_no: str | None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        phones: Sequence[str],
        email: str | None = None,
        tier: Tier = Tier.STANDARD,
        birthday: date | None = None,
        customer_no: str | None = None,
        default_country: str = "VN",
    ) -> NewCustomer:
        """Validate every field at once; InvalidCustomerError lists each problem."""
        problems: dict[str, str] = {}
        clean_name = " ".join(name.split())
        if not clean_name:
            problems["name"] = "required"
        elif len(clean_name) > MAX_NAME_CHARS:
            problems["name"] = f"at most {MAX_NAME_CHARS} characters"
        clean_email = email.strip() if email else None
        if clean_email and (len(clean_email) > MAX_EMAIL_CHARS or not _EMAIL.match(clean_email)):
            problems["email"] = f"{email!r} is not an email address"
        clean_no = customer_no.strip() if customer_no else None
        if clean_no and not _CUSTOMER_NO.match(clean_no):
            problems["customer_no"] = "1-40 letters, digits, '.', '_', '/' or '-'"
        normalised: list[str] = []
        if not phones:
            problems["phone"] = "at least one phone number is required"
        elif len(phones) > MAX_PHONES:
            problems["phone"] = f"at most {MAX_PHONES} numbers"
        for raw in phones:
            try:
                number = normalise_phone(raw, default_country)
            except InvalidPhoneError as exc:
                problems["phone"] = str(exc)
                continue
            if number not in normalised:
                normalised.append(number)
        if birthday is not None and birthday.year < 1900:
            problems["birthday"] = "before 1900"
        if problems:
            raise InvalidCustomerError(problems)
        return cls(clean_name, tuple(normalised), clean_email or None, tier, birthday, clean_no or None)
