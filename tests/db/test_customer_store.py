"""Customers on a real PostgreSQL: creation, caller lookup in one round trip, import."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from customers.errors import CustomerNotFoundError, InvalidCustomerError
from customers.importer import import_csv
from customers.model import NewCustomer, Tier
from customers.store import CustomerStore

pytestmark = pytest.mark.db
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def jane(**changes: object) -> NewCustomer:
    fields: dict[str, object] = {
        "name": "Jane Doe",
        "phones": ["0901234567"],
        "email": "jane@example.com",
        "tier": Tier.GOLD,
        "birthday": date(1985, 3, 14),
        "customer_no": "C1",
    }
    fields.update(changes)
    return NewCustomer.create(**fields)  # type: ignore[arg-type]


async def test_create_and_get(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    created = await store.create(jane(phones=["0901234567", "+84 90 123 4567", "028 3812 3456"]))
    assert created.phones == ("+842838123456", "+84901234567")
    assert await store.get(created.id) == created
    with pytest.raises(CustomerNotFoundError):
        await store.get(created.id + 1000)


@pytest.mark.parametrize("spelling", ["0901234567", "+84901234567", "84901234567", "090 123 4567"])
async def test_caller_card_finds_the_customer_and_five_newest_interactions_in_one_query(
    db: asyncpg.Connection, spelling: str
) -> None:
    store = CustomerStore(db)
    customer = await store.create(jane())
    for day in range(8):
        await store.add_interaction(
            customer.id, T0 + timedelta(days=day), "call", f"call {day}", f"ref-{day}"
        )
    queries: list[str] = []
    db.add_query_logger(lambda record: queries.append(record.query))
    card = await store.caller_card(spelling)
    await asyncio.sleep(0)  # asyncpg hands records to query loggers with call_soon
    assert card is not None
    assert len(queries) == 1
    assert card.customer == customer
    assert [i.summary for i in card.interactions] == ["call 7", "call 6", "call 5", "call 4", "call 3"]
    assert card.interactions[0].occurred_at == T0 + timedelta(days=7)
    assert card.interactions[0].ref == "ref-7"


@pytest.mark.parametrize("number", ["0909999999", "<unknown>", "anonymous", "", "1001"])
async def test_unknown_or_unusable_callers_have_no_card(db: asyncpg.Connection, number: str) -> None:
    store = CustomerStore(db)
    await store.create(jane())
    assert await store.caller_card(number) is None


async def test_a_shared_household_number_pops_the_most_recently_contacted(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    parent = await store.create(jane(name="Parent", customer_no="P1"))
    child = await store.create(jane(name="Child", customer_no="P2"))
    await store.add_interaction(parent.id, T0 + timedelta(days=2), "call", "recent", None)
    await store.add_interaction(child.id, T0, "call", "older", None)
    card = await store.caller_card("0901234567")
    assert card is not None
    assert card.customer.name == "Parent"


async def test_customer_without_history_has_an_empty_timeline(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    await store.create(jane())
    card = await store.caller_card("0901234567")
    assert card is not None
    assert card.interactions == ()


def test_invalid_customers_list_every_problem() -> None:
    with pytest.raises(InvalidCustomerError) as caught:
        NewCustomer.create(name=" ", phones=["abc"], email="nope", customer_no="bad no!")
    assert set(caught.value.problems) == {"name", "phone", "email", "customer_no"}


async def test_import_creates_updates_and_reports(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    first = "customer_no,name,phone,email,tier,birthday\nC1,Jane Doe,0901234567,,gold,\nC2,Bad,xx,,,\n"
    report = await import_csv(store, first, default_country="VN")
    assert (report.created, report.updated, [r.line for r in report.rejected]) == (1, 0, [3])
    again = (
        "customer_no,name,phone,email,tier,birthday\nC1,Jane D. Doe,0907777777,,vip,\nC3,An,0901000001,,,\n"
    )
    report = await import_csv(store, again, default_country="VN")
    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    card = await store.caller_card("0907777777")
    assert card is not None
    assert (card.customer.name, card.customer.tier) == ("Jane D. Doe", Tier.VIP)
    assert card.customer.phones == ("+84901234567", "+84907777777")
    assert await db.fetchval("SELECT count(*) FROM customers") == 2
