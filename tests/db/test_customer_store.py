"""Customers on a real PostgreSQL: records, the caller lookup in one query, search, upsert, import."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from customers.errors import (
    AmbiguousPhoneError,
    CustomerNotFoundError,
    DuplicateCustomerNoError,
    InvalidPhoneError,
)
from customers.importer import import_csv
from customers.model import NewCustomer, Tier
from customers.store import CustomerStore
from tests.conftest import eventually

pytestmark = pytest.mark.db
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
HEADER = "customer_no,name,phone,email,tier,birthday\n"


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


def query_log(conn: asyncpg.Connection) -> list[str]:
    """Every statement `conn` sends from now on (asyncpg reports them with call_soon)."""
    queries: list[str] = []
    conn.add_query_logger(lambda record: queries.append(record.query))
    return queries


async def settled(queries: list[str], at_least: int) -> None:
    """Let asyncpg deliver the query records it has scheduled."""
    await eventually(lambda: len(queries) >= at_least, timeout_s=2)


async def test_create_and_get(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    created = await store.create(jane(phones=["0901234567", "+84 90 123 4567", "028 3812 3456"]))
    assert created.phones == ("+842838123456", "+84901234567")
    assert (created.name, created.tier, created.customer_no) == ("Jane Doe", Tier.GOLD, "C1")
    assert await store.get(created.id) == created
    with pytest.raises(CustomerNotFoundError) as caught:
        await store.get(created.id + 1000)
    assert caught.value.customer_id == created.id + 1000


async def test_a_customer_without_stated_tier_is_standard(db: asyncpg.Connection) -> None:
    created = await CustomerStore(db).create(NewCustomer.create(name="An", phones=["0901000001"]))
    assert (created.tier, created.email, created.birthday, created.customer_no) == (
        Tier.STANDARD,
        None,
        None,
        None,
    )


async def test_a_taken_customer_no_is_a_domain_error_and_the_transaction_goes_on(
    db: asyncpg.Connection,
) -> None:
    store = CustomerStore(db)
    first = await store.create(jane())
    with pytest.raises(DuplicateCustomerNoError) as caught:
        await store.create(jane(name="Someone Else", phones=["0909000000"]))
    assert caught.value.customer_no == "C1"
    assert await store.get(first.id) == first
    assert await db.fetchval("SELECT count(*) FROM customer_phones") == 1


async def test_find_by_phone_takes_any_spelling(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    created = await store.create(jane())
    for spelling in ("0901234567", "+84 90 123 4567", "0084901234567"):
        assert await store.find_by_phone(spelling) == created
    assert await store.find_by_phone("0909999999") is None
    with pytest.raises(InvalidPhoneError):
        await store.find_by_phone("call me")


@pytest.mark.parametrize("spelling", ["0901234567", "+84901234567", "84901234567", "090 123 4567"])
async def test_caller_card_finds_the_customer_and_five_newest_interactions_in_one_query(
    db: asyncpg.Connection, spelling: str
) -> None:
    store = CustomerStore(db)
    customer = await store.create(jane())
    # Written out of order, so the order on the card comes from the query.
    for day in (3, 0, 7, 5, 1, 6, 2, 4):
        await store.add_interaction(
            customer.id, T0 + timedelta(days=day), "call", f"call {day}", f"ref-{day}"
        )
    queries = query_log(db)
    card = await store.caller_card(spelling)
    await settled(queries, 1)
    assert len(queries) == 1
    assert card is not None
    assert card.customer == customer
    assert [i.summary for i in card.interactions] == ["call 7", "call 6", "call 5", "call 4", "call 3"]
    newest = card.interactions[0]
    assert (newest.occurred_at, newest.channel, newest.ref) == (T0 + timedelta(days=7), "call", "ref-7")
    assert newest.occurred_at.utcoffset() is not None


async def test_the_caller_card_query_is_served_by_indexes(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    customer = await store.create(jane())
    await store.add_interaction(customer.id, T0, "call", "hello", None)
    queries = query_log(db)
    await store.caller_card("0901234567")
    await settled(queries, 1)
    # With sequential scans priced out, a table without a usable index still shows a Seq Scan.
    await db.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(row[0] for row in await db.fetch("EXPLAIN " + queries[0], "+84901234567"))
    assert "Seq Scan" not in plan, plan
    assert "customer_phones_pkey" in plan
    assert "interactions_customer_time" in plan


@pytest.mark.parametrize("number", ["0909999999", "<unknown>", "anonymous", "", "1001", "+"])
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
    assert [i.summary for i in card.interactions] == ["recent"]
    await store.add_interaction(child.id, T0 + timedelta(days=3), "call", "newest", None)
    assert await store.find_by_phone("0901234567") == child


async def test_a_shared_number_never_contacted_pops_the_newest_record(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    await store.create(jane(name="Older", customer_no="P1"))
    newer = await store.create(jane(name="Newer", customer_no="P2"))
    card = await store.caller_card("0901234567")
    assert card is not None
    assert card.customer == newer


async def test_customer_without_history_has_an_empty_timeline(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    await store.create(jane())
    card = await store.caller_card("0901234567")
    assert card is not None
    assert card.interactions == ()


async def test_interactions_need_a_known_customer_and_a_time_zone(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    customer = await store.create(jane())
    with pytest.raises(CustomerNotFoundError):
        await store.add_interaction(customer.id + 1000, T0, "call", "lost", None)
    with pytest.raises(ValueError, match="time zone"):
        await store.add_interaction(customer.id, T0.replace(tzinfo=None), "call", "naive", None)
    with pytest.raises(ValueError, match="channel"):
        await store.add_interaction(customer.id, T0, " ", "no channel", None)
    await store.add_interaction(customer.id, T0, "call", "kept", "call-1")
    assert await db.fetchval("SELECT summary FROM interactions") == "kept"


async def search_names(store: CustomerStore, text: str, limit: int = 20) -> list[str]:
    return [c.name for c in await store.search(text, limit)]


async def test_search_by_name_words_with_or_without_diacritics(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    for index, name in enumerate(["Trần Văn Bình", "NGUYỄN THỊ ĐÀO", "Bình Minh Tran", "Jane Doe"]):
        await store.create(NewCustomer.create(name=name, phones=[f"09010000{index:02d}"]))
    assert await search_names(store, "tran binh") == ["Bình Minh Tran", "Trần Văn Bình"]
    assert await search_names(store, "Trần") == ["Bình Minh Tran", "Trần Văn Bình"]
    assert await search_names(store, "bin") == ["Bình Minh Tran", "Trần Văn Bình"]
    assert await search_names(store, "nguyen dao") == ["NGUYỄN THỊ ĐÀO"]
    assert await search_names(store, "Đào") == ["NGUYỄN THỊ ĐÀO"]
    assert await search_names(store, "doe, jane!") == ["Jane Doe"]
    assert await search_names(store, "van nobody") == []
    assert await search_names(store, "tran", limit=1) == ["Bình Minh Tran"]
    assert await search_names(store, "  ") == []
    # tsquery syntax typed by an agent is only text.
    assert await search_names(store, "jane & !doe | (:*") == ["Jane Doe"]


async def test_search_by_phone_or_customer_no_puts_exact_hits_first(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    await store.create(jane(name="Jane Doe", customer_no="C1"))
    await store.create(NewCustomer.create(name="C1 Trading", phones=["0901000001"], customer_no="X9"))
    assert await search_names(store, "090 123 4567") == ["Jane Doe"]
    assert await search_names(store, "+84901000001") == ["C1 Trading"]
    assert await search_names(store, "C1") == ["Jane Doe", "C1 Trading"]
    assert await search_names(store, "X9") == ["C1 Trading"]
    with pytest.raises(ValueError, match="limit"):
        await store.search("jane", limit=0)
    with pytest.raises(ValueError, match="limit"):
        await store.search("jane", limit=101)


async def test_upsert_by_customer_no_updates_without_erasing(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    original, created = await store.upsert(jane())
    assert created
    updated, created = await store.upsert(
        NewCustomer.create(name="Jane D. Doe", phones=["0907777777"], tier=Tier.VIP, customer_no="C1")
    )
    assert not created
    assert updated.id == original.id
    assert (updated.name, updated.tier) == ("Jane D. Doe", Tier.VIP)
    # Unstated fields keep what was stored; numbers are added, never removed.
    assert (updated.email, updated.birthday) == ("jane@example.com", date(1985, 3, 14))
    assert updated.phones == ("+84901234567", "+84907777777")
    assert await store.get(original.id) == updated


async def test_upsert_without_customer_no_matches_by_phone(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    known = await store.create(jane())
    updated, created = await store.upsert(
        NewCustomer.create(name="Jane Updated", phones=["0909000000", "0901234567"], email="new@example.com")
    )
    assert not created
    assert updated.id == known.id
    assert (updated.name, updated.email, updated.customer_no, updated.tier) == (
        "Jane Updated",
        "new@example.com",
        "C1",
        Tier.GOLD,
    )
    assert updated.phones == ("+84901234567", "+84909000000")
    fresh, created = await store.upsert(NewCustomer.create(name="Walk-in", phones=["0908000000"]))
    assert created
    assert (fresh.tier, fresh.phones) == (Tier.STANDARD, ("+84908000000",))


async def test_upsert_by_a_shared_number_refuses_to_guess_and_writes_nothing(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    parent = await store.create(jane(name="Parent", customer_no="P1"))
    child = await store.create(jane(name="Child", customer_no="P2"))
    with pytest.raises(AmbiguousPhoneError) as caught:
        await store.upsert(NewCustomer.create(name="Who?", phones=["0901234567", "0902222222"]))
    assert caught.value.customer_ids == (parent.id, child.id)
    assert caught.value.phones == ("+84901234567", "+84902222222")
    assert await db.fetchval("SELECT count(*) FROM customers WHERE name = 'Who?'") == 0
    assert await db.fetchval("SELECT count(*) FROM customer_phones WHERE phone = '+84902222222'") == 0
    assert await store.get(parent.id) == parent


async def test_import_creates_updates_and_reports(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    first = HEADER + "C1,Jane Doe,0901234567,,gold,\nC2,Bad,xx,,,\nC3,Trần Văn Bình,0912345678,,,\n"
    report = await import_csv(store, first, default_country="VN")
    assert (report.created, report.updated, [r.line for r in report.rejected]) == (2, 0, [3])
    assert "'xx' is not a phone number" in report.rejected[0].reason
    again = HEADER + "C1,Jane D. Doe,0907777777,,vip,\nC4,An,0901000001,,,\n"
    report = await import_csv(store, again, default_country="VN")
    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    card = await store.caller_card("0907777777")
    assert card is not None
    assert (card.customer.name, card.customer.tier) == ("Jane D. Doe", Tier.VIP)
    assert card.customer.phones == ("+84901234567", "+84907777777")
    assert await db.fetchval("SELECT count(*) FROM customers") == 3
    binh = await store.find_by_phone("0912345678")
    assert binh is not None
    assert binh.name == "Trần Văn Bình"


async def test_import_rejects_a_row_whose_shared_number_is_ambiguous_and_keeps_the_rest(
    db: asyncpg.Connection,
) -> None:
    store = CustomerStore(db)
    await store.create(jane(name="Parent", customer_no="P1"))
    await store.create(jane(name="Child", customer_no="P2"))
    text = "name,phone\nGood Before,0901000001\nWho?,0901234567\nGood After,0901000002\n"
    report = await import_csv(store, text, default_country="VN", batch_rows=2)
    assert (report.created, report.updated) == (2, 0)
    assert [(r.line, "belongs to several customers" in r.reason) for r in report.rejected] == [(3, True)]
    assert await search_names(store, "good") == ["Good After", "Good Before"]


async def test_import_through_a_pool_commits_each_batch(migrated_database_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    rows = "".join(f"{tag}-{n},Pool Customer {n},09{n:08d},,,\n" for n in range(5))
    pool = await asyncpg.create_pool(migrated_database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        store = CustomerStore(pool)
        report = await import_csv(store, HEADER + rows, default_country="VN", batch_rows=2)
        assert (report.created, report.updated, report.rejected) == (5, 0, [])
        committed = await pool.fetchval(
            "SELECT count(*) FROM customers WHERE customer_no LIKE $1", f"{tag}-%"
        )
        assert committed == 5
        report = await import_csv(store, HEADER + rows, default_country="VN", batch_rows=2)
        assert (report.created, report.updated) == (0, 5)
    finally:
        await pool.execute("DELETE FROM customers WHERE customer_no LIKE $1", f"{tag}-%")
        await pool.close()


async def test_search_is_served_by_indexes(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    await store.create(jane())
    queries = query_log(db)
    await store.search("jane")
    await settled(queries, 1)
    await db.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(
        row[0] for row in await db.fetch("EXPLAIN " + queries[0], "C1", "+84901234567", "jane:*", 20)
    )
    assert "Seq Scan" not in plan, plan
    assert "customers_name_search" in plan


async def test_an_interaction_with_a_ref_is_kept_once(db: asyncpg.Connection) -> None:
    store = CustomerStore(db)
    customer = await store.create(jane())
    for _ in range(2):
        await store.add_interaction(customer.id, T0, "call", "Call answered", "1795392158.0")
    await store.add_interaction(customer.id, T0, "call", "note without ref", None)
    await store.add_interaction(customer.id, T0, "call", "note without ref", None)
    rows = await db.fetch("SELECT summary FROM interactions WHERE customer_id = $1 ORDER BY id", customer.id)
    assert [r["summary"] for r in rows] == ["Call answered", "note without ref", "note without ref"]
