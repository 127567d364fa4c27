"""The customers' use cases: records and lookups for the other features, the search and the timeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Protocol

from customers.errors import CustomerNotFoundError, InvalidPhoneError
from customers.model import CallerCard, Customer, Interaction, NewCustomer, SpecialDays
from customers.phone import normalise_phone
from customers.store import CustomerStore


class TimelineEvent(Protocol):
    """An event that carries its own line for a customer's timeline, worded by the feature that owns it."""

    @property
    def customer_id(self) -> int | None:
        """Whose timeline (None: no known customer)."""
        ...

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def summary(self) -> str | None:
        """The line (None: this event puts nothing on the timeline)."""
        ...

    @property
    def ref(self) -> str:
        """What the line is about, so the same event is on the timeline once."""
        ...


class CustomerService:
    """What the rest of Hotline asks of the customers: who is this, who is calling, what happened with them."""

    def __init__(self, store: CustomerStore) -> None:
        self._store = store

    @property
    def default_country(self) -> str:
        """The country a number without its country code is read in."""
        return self._store.default_country

    def normalise_phone(self, raw: str) -> str:
        """A phone number as it is stored (E.164), read in the default country; InvalidPhoneError."""
        return normalise_phone(raw, self._store.default_country)

    async def create(self, new: NewCustomer) -> Customer:
        """Store a new customer and their phones; DuplicateCustomerNoError if the number is taken."""
        return await self._store.create(new)

    async def get(self, customer_id: int) -> Customer:
        """The customer with this id, or CustomerNotFoundError."""
        return await self._store.get(customer_id)

    async def find(self, customer_id: int) -> Customer | None:
        """The customer with this id, or None."""
        try:
            return await self._store.get(customer_id)
        except CustomerNotFoundError:
            return None

    async def find_many(self, customer_ids: Collection[int]) -> dict[int, Customer]:
        """The customers with these ids, by id (unknown ids are left out)."""
        return {c.id: c for c in await self._store.get_many(customer_ids)}

    async def by_phone(self, caller_number: str) -> Customer | None:
        """The customer calling from this number; anonymous or odd numbers are simply unknown."""
        try:
            return await self._store.find_by_phone(caller_number)
        except InvalidPhoneError:
            return None

    async def by_customer_no(self, customer_no: str) -> Customer | None:
        """The customer whose customer number is exactly this one, or None."""
        return await self._store.find_by_customer_no(customer_no)

    async def caller_card(self, raw_number: str) -> CallerCard | None:
        """The customer behind a caller number and their latest interactions (None: unknown caller)."""
        return await self._store.caller_card(raw_number)

    async def search(self, text: str, limit: int = 20) -> list[Customer]:
        """Customers an agent means by `text`: an exact customer number or phone, or name word prefixes."""
        return await self._store.search(text, limit)

    async def timeline(self, customer_id: int, limit: int = 50) -> list[Interaction]:
        """The customer's contacts, newest first; CustomerNotFoundError if unknown."""
        return await self._store.timeline(customer_id, limit)

    async def record(self, event: TimelineEvent) -> None:
        """Put the event's own line on its customer's timeline, once (by its ref)."""
        summary = event.summary
        if event.customer_id is None or summary is None:
            return
        await self._store.add_interaction(
            event.customer_id, event.occurred_at, event.channel, summary, event.ref
        )

    async def special_days(self, days: Sequence[tuple[int, int]]) -> list[SpecialDays]:
        """Customers not opted out of greetings whose birthday or anniversary is one of (month, day)."""
        return await self._store.special_days(days)

    async def set_special_days(
        self, customer_id: int, *, anniversary: date | None, greetings_opt_out: bool
    ) -> None:
        """Record the customer's anniversary and whether they want greetings; CustomerNotFoundError."""
        await self._store.set_special_days(
            customer_id, anniversary=anniversary, greetings_opt_out=greetings_opt_out
        )
