"""Customers in PostgreSQL: records, phones, the contact timeline, the caller lookup and search.

A number may be shared by several customers (a household line, a company switchboard). A
lookup by number then gives the customer contacted most recently, and among those never
contacted the newest record; an update by number alone refuses to guess (AmbiguousPhoneError).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from customers.errors import (
    AmbiguousPhoneError,
    CustomerNotFoundError,
    DuplicateCustomerNoError,
    InvalidPhoneError,
)
from customers.model import CallerCard, Customer, Interaction, NewCustomer, SpecialDays, Tier
from customers.phone import normalise_phone

# A string: asyncpg's proxy class cannot be subscripted at run time, only by the type checker.
Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"
INTERACTIONS_ON_CARD = 5
MAX_SEARCH_RESULTS = 100
_WORD = re.compile(r"[^\W_]+")

# Every statement selects these, so `_customer` reads any row the same way.
_PHONES_OF_C = "ARRAY(SELECT p.phone FROM customer_phones p WHERE p.customer_id = c.id ORDER BY p.phone)"
_CUSTOMER_COLUMNS = f"c.id, c.customer_no, c.name, c.email, c.tier, c.birthday, {_PHONES_OF_C} AS phones"

# The household rule: the most recently contacted owner of a number, then the newest record.
# Both keys come from indexes (interactions_customer_time, the primary key).
_OWNER_OF_NUMBER = """
    SELECT n.customer_id AS id
    FROM customer_phones n
    WHERE n.phone = $1
    ORDER BY (SELECT max(i.occurred_at) FROM interactions i WHERE i.customer_id = n.customer_id)
             DESC NULLS LAST,
             n.customer_id DESC
    LIMIT 1
"""

# The screen pop's one round trip: the phone primary key finds the customer, the timeline
# index gives the newest interactions. They come back as parallel text arrays, times in UTC:
# asyncpg decodes text[] natively, while an array of rows or of timestamptz makes it run
# type-introspection queries first on every new connection.
_CALLER_CARD = f"""
    WITH owner AS ({_OWNER_OF_NUMBER})
    SELECT {_CUSTOMER_COLUMNS}, recent.*
    FROM owner o
    JOIN customers c ON c.id = o.id
    CROSS JOIN LATERAL (
        SELECT array_agg(to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
                         ORDER BY i.occurred_at DESC, i.id DESC) AS occurred_at,
               array_agg(i.channel ORDER BY i.occurred_at DESC, i.id DESC) AS channel,
               array_agg(i.summary ORDER BY i.occurred_at DESC, i.id DESC) AS summary,
               array_agg(i.ref ORDER BY i.occurred_at DESC, i.id DESC) AS ref
        FROM (SELECT * FROM interactions
              WHERE customer_id = c.id
              ORDER BY occurred_at DESC, id DESC
              LIMIT {INTERACTIONS_ON_CARD}) i
    ) recent
"""

_FIND_BY_PHONE = f"""
    WITH owner AS ({_OWNER_OF_NUMBER})
    SELECT {_CUSTOMER_COLUMNS} FROM owner o JOIN customers c ON c.id = o.id
"""

_GET = f"SELECT {_CUSTOMER_COLUMNS} FROM customers c WHERE c.id = $1"
_GET_MANY = f"SELECT {_CUSTOMER_COLUMNS} FROM customers c WHERE c.id = ANY($1::bigint[]) ORDER BY c.id"
_BY_CUSTOMER_NO = f"SELECT {_CUSTOMER_COLUMNS} FROM customers c WHERE c.customer_no = $1"

# Customer and phones in one statement: atomic without a transaction block, so the store
# works the same on a pool and on a connection inside a caller's transaction. A taken
# customer number yields no row instead of an error that would abort the caller's transaction.
_INSERT = """
    WITH c AS (
        INSERT INTO customers (customer_no, name, email, tier, birthday)
        VALUES ($1, $2, $3, COALESCE($4, 'standard'), $5)
        ON CONFLICT (customer_no) DO NOTHING
        RETURNING id, customer_no, name, email, tier, birthday
    ), p AS (
        INSERT INTO customer_phones (phone, customer_id)
        SELECT phone, c.id FROM c, unnest($6::text[]) AS phone
    )
    SELECT c.*, ARRAY(SELECT phone FROM unnest($6::text[]) AS phone ORDER BY phone) AS phones FROM c
"""

# The importer's write, one statement per record. The target is the customer with the same
# customer number or, for a record without one, the single customer owning any of its numbers.
# Found: the name is replaced, stated fields (non-NULL) replace stored ones, new numbers are
# added and none removed, so an import never erases. Not found: a new customer. Several
# owners: nothing is written and `matched` lists them (as text[], which asyncpg decodes
# without introspecting a type). ON CONFLICT covers a concurrent import creating the same
# customer number between the lookup and the insert.
_UPSERT = """
    WITH matched AS (
        SELECT array_agg(DISTINCT owner ORDER BY owner) AS ids FROM (
            SELECT c.id AS owner FROM customers c WHERE $1::text IS NOT NULL AND c.customer_no = $1
            UNION ALL
            SELECT n.customer_id FROM customer_phones n WHERE $1::text IS NULL AND n.phone = ANY($6::text[])
        ) AS found
    ), updated AS (
        UPDATE customers c
        SET name = $2, email = COALESCE($3, c.email), tier = COALESCE($4, c.tier),
            birthday = COALESCE($5, c.birthday)
        FROM matched m
        WHERE cardinality(m.ids) = 1 AND c.id = m.ids[1]
        RETURNING c.id, c.customer_no, c.name, c.email, c.tier, c.birthday, false AS created
    ), inserted AS (
        INSERT INTO customers AS c (customer_no, name, email, tier, birthday)
        SELECT $1, $2, $3, COALESCE($4, 'standard'), $5 FROM matched m WHERE m.ids IS NULL
        ON CONFLICT (customer_no) DO UPDATE
            SET name = EXCLUDED.name, email = COALESCE($3, c.email), tier = COALESCE($4, c.tier),
                birthday = COALESCE($5, c.birthday)
        RETURNING c.id, c.customer_no, c.name, c.email, c.tier, c.birthday, (c.xmax = 0) AS created
    ), saved AS (
        SELECT * FROM updated UNION ALL SELECT * FROM inserted
    ), phones AS (
        INSERT INTO customer_phones (phone, customer_id)
        SELECT phone, s.id FROM saved s, unnest($6::text[]) AS phone
        ON CONFLICT DO NOTHING
    )
    SELECT m.ids::text[] AS matched, s.id, s.customer_no, s.name, s.email, s.tier, s.birthday, s.created,
           ARRAY(SELECT p.phone FROM customer_phones p WHERE p.customer_id = s.id
                 UNION SELECT unnest($6::text[]) ORDER BY 1) AS phones
    FROM matched m LEFT JOIN saved s ON true
"""

# Exact customer number and phone hits first, then name matches alphabetically. Each branch
# is bounded by its own index (customer_no unique, phone primary key, name_search GIN).
_SEARCH = f"""
    WITH hits AS (
        SELECT c.id, 0 AS rank FROM customers c WHERE c.customer_no = $1
        UNION ALL
        SELECT n.customer_id, 0 FROM customer_phones n WHERE n.phone = $2
        UNION ALL
        (SELECT c.id, 1 FROM customers c
         WHERE $3::text <> '' AND c.name_search @@ to_tsquery('simple', customers_fold($3))
         ORDER BY c.name, c.id LIMIT $4)
    ), best AS (
        SELECT id, min(rank) AS rank FROM hits GROUP BY id
    )
    SELECT {_CUSTOMER_COLUMNS}
    FROM best b JOIN customers c ON c.id = b.id
    ORDER BY b.rank, c.name, c.id
    LIMIT $4
"""

_ADD_INTERACTION = """
    WITH c AS (SELECT id FROM customers WHERE id = $1),
    added AS (
        INSERT INTO interactions (customer_id, occurred_at, channel, summary, ref)
        SELECT c.id, $2, $3, $4, $5 FROM c
        ON CONFLICT (customer_id, channel, ref) WHERE ref IS NOT NULL DO NOTHING
    )
    SELECT EXISTS (SELECT 1 FROM c)
"""

# Whose birthday or anniversary falls on one of the given days (month * 100 + day): the same
# expressions as the partial indexes customers_birthday_day and customers_anniversary_day.
_SPECIAL_DAYS = f"""
    SELECT c.id AS customer_id, c.name, c.email, c.birthday, c.anniversary,
           ({_PHONES_OF_C})[1] AS phone
    FROM customers c
    WHERE NOT c.greetings_opt_out AND c.id IN (
        SELECT id FROM customers
        WHERE birthday IS NOT NULL
          AND EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday) = ANY($1::int[])
        UNION
        SELECT id FROM customers
        WHERE anniversary IS NOT NULL
          AND EXTRACT(MONTH FROM anniversary) * 100 + EXTRACT(DAY FROM anniversary) = ANY($1::int[])
    )
    ORDER BY c.id
"""


def _customer(row: asyncpg.Record) -> Customer:
    return Customer(
        id=row["id"],
        customer_no=row["customer_no"],
        name=row["name"],
        email=row["email"],
        tier=Tier(row["tier"]),
        birthday=row["birthday"],
        phones=tuple(row["phones"]),
    )


def _name_query(text: str) -> str:
    """A tsquery matching names that have a word starting with each word of `text` ("tr:* & bin:*")."""
    words = _WORD.findall(unicodedata.normalize("NFC", text))
    return " & ".join(f"{word}:*" for word in words)


class CustomerStore:
    """The only place that reads and writes customers, their phones and their timeline."""

    def __init__(self, db: Db, *, default_country: str = "VN") -> None:
        self._db = db
        self.default_country = default_country

    @asynccontextmanager
    async def in_transaction(self) -> AsyncIterator[CustomerStore]:
        """A store whose calls all run in one transaction, committed when the block ends without error."""
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn, conn.transaction():
                yield CustomerStore(conn, default_country=self.default_country)
        else:
            # On a connection already inside a transaction this is a savepoint.
            async with self._db.transaction():
                yield self

    async def create(self, new: NewCustomer) -> Customer:
        """Store a new customer and their phones; DuplicateCustomerNoError if the number is taken."""
        row = await self._db.fetchrow(
            _INSERT, new.customer_no, new.name, new.email, _tier(new), new.birthday, list(new.phones)
        )
        if row is None:
            assert new.customer_no is not None, "only a customer number can conflict"
            raise DuplicateCustomerNoError(new.customer_no)
        return _customer(row)

    async def upsert(self, new: NewCustomer) -> tuple[Customer, bool]:
        """Create, or update the customer with this customer number (else these phones); True if created.

        AmbiguousPhoneError, with nothing written, when a record without customer number has
        phones belonging to several customers.
        """
        row = await self._db.fetchrow(
            _UPSERT, new.customer_no, new.name, new.email, _tier(new), new.birthday, list(new.phones)
        )
        assert row is not None, "the statement always returns its one matched row"
        if row["id"] is None:
            raise AmbiguousPhoneError(new.phones, [int(owner) for owner in row["matched"]])
        return _customer(row), bool(row["created"])

    async def get(self, customer_id: int) -> Customer:
        """The customer with this id, or CustomerNotFoundError."""
        row = await self._db.fetchrow(_GET, customer_id)
        if row is None:
            raise CustomerNotFoundError(customer_id)
        return _customer(row)

    async def get_many(self, customer_ids: Collection[int]) -> list[Customer]:
        """The customers with these ids, by id (unknown ids are left out)."""
        if not customer_ids:
            return []
        return [_customer(row) for row in await self._db.fetch(_GET_MANY, list(set(customer_ids)))]

    async def find_by_customer_no(self, customer_no: str) -> Customer | None:
        """The customer with exactly this customer number, or None."""
        row = await self._db.fetchrow(_BY_CUSTOMER_NO, customer_no)
        return None if row is None else _customer(row)

    async def find_by_phone(self, phone: str) -> Customer | None:
        """The customer owning this number (any spelling; the household rule if shared), or None.

        InvalidPhoneError if `phone` cannot be a phone number.
        """
        row = await self._db.fetchrow(_FIND_BY_PHONE, normalise_phone(phone, self.default_country))
        return None if row is None else _customer(row)

    async def caller_card(self, raw_number: str) -> CallerCard | None:
        """The customer behind a caller number and their latest interactions, in one query.

        None for an unknown caller, and for a number that cannot be a phone number (anonymous,
        `<unknown>`, an internal extension): such a caller is simply not a known customer.
        """
        try:
            phone = normalise_phone(raw_number, self.default_country)
        except InvalidPhoneError:
            return None
        row = await self._db.fetchrow(_CALLER_CARD, phone)
        if row is None:
            return None
        recent = zip(
            row["occurred_at"] or (),
            row["channel"] or (),
            row["summary"] or (),
            row["ref"] or (),
            strict=True,
        )
        return CallerCard(
            _customer(row),
            tuple(
                Interaction(datetime.fromisoformat(at).replace(tzinfo=UTC), channel, summary, ref)
                for at, channel, summary, ref in recent
            ),
        )

    async def add_interaction(
        self, customer_id: int, occurred_at: datetime, channel: str, summary: str, ref: str | None
    ) -> None:
        """Add an entry to the customer's timeline; CustomerNotFoundError for an unknown customer.

        An entry with a `ref` is kept once per customer and channel: adding it again does nothing.
        """
        entry = Interaction(occurred_at, channel, summary, ref)
        if not channel.strip():
            raise ValueError("channel must not be empty")
        # INSERT ... SELECT instead of relying on the foreign key: an unknown id gives no row
        # rather than an error that would abort the caller's transaction.
        known = await self._db.fetchval(
            _ADD_INTERACTION, customer_id, entry.occurred_at, entry.channel, entry.summary, entry.ref
        )
        if not known:
            raise CustomerNotFoundError(customer_id)

    async def timeline(self, customer_id: int, limit: int = 50) -> list[Interaction]:
        """The customer's contacts (calls, tickets), newest first; CustomerNotFoundError if unknown."""
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise ValueError(f"limit must be 1..{MAX_SEARCH_RESULTS}, not {limit}")
        await self.get(customer_id)
        rows = await self._db.fetch(
            "SELECT occurred_at, channel, summary, ref FROM interactions WHERE customer_id = $1"
            " ORDER BY occurred_at DESC, id DESC LIMIT $2",
            customer_id,
            limit,
        )
        return [Interaction(r["occurred_at"], r["channel"], r["summary"], r["ref"]) for r in rows]

    async def search(self, text: str, limit: int = 20) -> list[Customer]:
        """Customers an agent means by `text`: an exact customer number or phone, or name word prefixes.

        Names match with or without diacritics ("tran binh" finds "Trần Văn Bình").
        """
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise ValueError(f"limit must be 1..{MAX_SEARCH_RESULTS}, not {limit}")
        query = text.strip()
        if not query:
            return []
        try:
            phone: str | None = normalise_phone(query, self.default_country)
        except InvalidPhoneError:
            phone = None
        rows = await self._db.fetch(_SEARCH, query, phone, _name_query(query), limit)
        return [_customer(row) for row in rows]

    async def special_days(self, days: Sequence[tuple[int, int]]) -> list[SpecialDays]:
        """Customers not opted out of greetings whose birthday or anniversary is one of (month, day)."""
        keys = [month * 100 + day for month, day in days]
        rows = await self._db.fetch(_SPECIAL_DAYS, keys)
        return [SpecialDays(**dict(row)) for row in rows]

    async def set_special_days(
        self, customer_id: int, *, anniversary: date | None, greetings_opt_out: bool
    ) -> None:
        """Record the customer's anniversary and whether they want greetings; CustomerNotFoundError."""
        updated = await self._db.fetchval(
            "UPDATE customers SET anniversary = $2, greetings_opt_out = $3 WHERE id = $1 RETURNING id",
            customer_id,
            anniversary,
            greetings_opt_out,
        )
        if updated is None:
            raise CustomerNotFoundError(customer_id)


def _tier(new: NewCustomer) -> str | None:
    return None if new.tier is None else new.tier.value
