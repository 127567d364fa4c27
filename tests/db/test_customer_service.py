"""The customers' service on a real PostgreSQL: the lookups other features make (None, never an error)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import pytest

from customers.model import NewCustomer, Tier
from customers.service import CustomerService
from customers.store import CustomerStore

pytestmark = pytest.mark.db
AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def _two(db: asyncpg.Connection) -> tuple[CustomerService, int, int]:
    customers = CustomerService(CustomerStore(db))
    jane = await customers.create(
        NewCustomer.create(name="Jane Doe", phones=["0901234567"], tier=Tier.GOLD, customer_no="C1")
    )
    vera = await customers.create(
        NewCustomer.create(name="Vera VIP", phones=["0908000042"], tier=Tier.VIP, customer_no="C1/2")
    )
    return customers, jane.id, vera.id


async def test_find_and_find_many_leave_unknown_ids_out(db: asyncpg.Connection) -> None:
    customers, jane, vera = await _two(db)
    found = await customers.find(jane)
    assert found is not None
    assert (found.name, found.tier) == ("Jane Doe", "gold")
    assert await customers.find(vera + 1000) is None
    many = await customers.find_many([vera, jane, vera + 1000, jane])
    assert {i: c.name for i, c in many.items()} == {jane: "Jane Doe", vera: "Vera VIP"}
    assert await customers.find_many([]) == {}


async def test_a_caller_is_found_by_number_or_by_the_exact_customer_number(db: asyncpg.Connection) -> None:
    customers, jane, vera = await _two(db)
    by_phone = await customers.by_phone("+84 90 123 4567")
    assert by_phone is not None
    assert by_phone.id == jane
    # Anonymous and odd numbers are simply unknown callers, not errors.
    assert await customers.by_phone("anonymous") is None
    assert await customers.by_phone("0909999999") is None
    by_no = await customers.by_customer_no("C1/2")
    assert by_no is not None
    assert by_no.id == vera
    # Exactly the number keyed in: a prefix or another spelling is nobody.
    assert await customers.by_customer_no("C") is None
    assert await customers.by_customer_no("c1") is None


@dataclass(frozen=True)
class Line:
    customer_id: int | None
    occurred_at: datetime
    channel: str
    summary: str | None
    ref: str


async def test_an_events_line_is_recorded_once_and_an_event_without_one_adds_nothing(
    db: asyncpg.Connection,
) -> None:
    customers, jane, _ = await _two(db)
    answered = Line(jane, AT, "call", "Call answered by Alice, talked 1:02", "1.7")
    for event in (
        answered,
        answered,
        replace(answered, summary=None, ref="1.8"),
        replace(answered, customer_id=None, ref="1.9"),
    ):
        await customers.record(event)
    timeline = await customers.timeline(jane)
    assert [(i.occurred_at, i.channel, i.summary, i.ref) for i in timeline] == [
        (AT, "call", "Call answered by Alice, talked 1:02", "1.7")
    ]
