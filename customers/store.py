"""Customers in PostgreSQL: records, phones, the contact timeline and the caller lookup."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from customers.errors import CustomerNotFoundError, InvalidPhoneError
from customers.model import CallerCard, Customer, Interaction, NewCustomer, Tier
from customers.phone import normalise_phone

Db = asyncpg.Pool | asyncpg.Connection
INTERACTIONS_ON_CARD = 5

_CUSTOMER_COLUMNS = """
    c.id, c.customer_no, c.name, c.email, c.tier, c.birthday,
    ARRAY(SELECT p.phone FROM customer_phones p WHERE p.customer_id = c.id ORDER BY p.phone) AS phones
"""

# One round trip for a screen pop: the phone index finds the customer, the timeline index
# gives the newest interactions. When a number is shared (a household line), the customer
# contacted most recently wins, then the newest record.
_CALLER_CARD = f"""
    SELECT {_CUSTOMER_COLUMNS},
           COALESCE((
               SELECT json_agg(json_build_object(
                          'occurred_at', i.occurred_at, 'channel', i.channel,
                          'summary', i.summary, 'ref', i.ref) ORDER BY i.occurred_at DESC, i.id DESC)
               FROM (SELECT * FROM interactions
                     WHERE customer_id = c.id
                     ORDER BY occurred_at DESC, id DESC
                     LIMIT {INTERACTIONS_ON_CARD}) i
           ), '[]') AS recent
    FROM customer_phones p
    JOIN customers c ON c.id = p.customer_id
    WHERE p.phone = $1
    ORDER BY (SELECT max(occurred_at) FROM interactions WHERE customer_id = c.id) DESC NULLS LAST,
             c.id DESC
    LIMIT 1
"""


# Customer and phones in one statement: atomic without a transaction block, so the store
# works the same on a pool and on a connection inside a caller's transaction.
_INSERT = """
    WITH c AS (
        INSERT INTO customers (customer_no, name, email, tier, birthday)
        VALUES ($1, $2, $3, $4, $5) RETURNING *
    ), p AS (
        INSERT INTO customer_phones (phone, customer_id)
        SELECT phone, c.id FROM c, unnest($6::text[]) AS phone
        RETURNING phone, customer_id
    )
    SELECT c.id, c.customer_no, c.name, c.email, c.tier, c.birthday,
           ARRAY(SELECT phone FROM p ORDER BY phone) AS phones
    FROM c
"""

# The same, but a known customer number updates that customer and adds any new phones.
_UPSERT = """
    WITH c AS (
        INSERT INTO customers (customer_no, name, email, tier, birthday)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (customer_no) DO UPDATE
            SET name = EXCLUDED.name, email = EXCLUDED.email,
                tier = EXCLUDED.tier, birthday = EXCLUDED.birthday
        RETURNING *, (xmax = 0) AS created
    ), p AS (
        INSERT INTO customer_phones (phone, customer_id)
        SELECT phone, c.id FROM c, unnest($6::text[]) AS phone
        ON CONFLICT DO NOTHING
    )
    SELECT c.id, c.customer_no, c.name, c.email, c.tier, c.birthday, c.created,
           ARRAY(SELECT DISTINCT phone FROM (
               SELECT phone FROM customer_phones WHERE customer_id = c.id
               UNION SELECT unnest($6::text[])) AS all_phones ORDER BY phone) AS phones
    FROM c
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


def _interactions(raw: str) -> tuple[Interaction, ...]:
    return tuple(
        Interaction(
            datetime.fromisoformat(item["occurred_at"]), item["channel"], item["summary"], item["ref"]
        )
        for item in json.loads(raw)
    )


class CustomerStore:
    """The only place that reads and writes customers, their phones and their timeline."""

    def __init__(self, db: Db, *, default_country: str = "VN") -> None:
        self._db = db
        self.default_country = default_country

    async def create(self, new: NewCustomer) -> Customer:
        """Store a validated customer and their phones (one statement, so all or nothing)."""
        row = await self._db.fetchrow(
            _INSERT, new.customer_no, new.name, new.email, new.tier.value, new.birthday, list(new.phones)
        )
        assert row is not None
        return _customer(row)

    async def upsert(self, new: NewCustomer) -> tuple[Customer, bool]:
        """Create, or update the customer with the same customer number; True when created."""
        row = await self._db.fetchrow(
            _UPSERT, new.customer_no, new.name, new.email, new.tier.value, new.birthday, list(new.phones)
        )
        assert row is not None
        return _customer(row), bool(row["created"])

    async def get(self, customer_id: int) -> Customer:
        """The customer with this id, or CustomerNotFoundError."""
        row = await self._db.fetchrow(
            f"SELECT {_CUSTOMER_COLUMNS} FROM customers c WHERE c.id = $1", customer_id
        )
        if row is None:
            raise CustomerNotFoundError(customer_id)
        return _customer(row)

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
        return CallerCard(_customer(row), _interactions(row["recent"]))

    async def add_interaction(
        self, customer_id: int, occurred_at: datetime, channel: str, summary: str, ref: str | None
    ) -> None:
        """Add an entry to the customer's timeline."""
        await self._db.execute(
            "INSERT INTO interactions (customer_id, occurred_at, channel, summary, ref) VALUES ($1, $2, $3, $4, $5)",
            customer_id,
            occurred_at,
            channel,
            summary,
            ref,
        )
