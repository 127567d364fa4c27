"""Promised callbacks in PostgreSQL: due rows are claimed with FOR UPDATE SKIP LOCKED and a lease.

A claim only leases the row; marking it offered is a second, conditional write. A node that
dies in between leaves a lease that runs out, and another node takes the callback over.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from cti.callbacks import Callback, CallbackStatus, NewCallback
from cti.errors import CallbackNotFoundError

_COLUMNS = """
    c.id, c.customer_id, c.customer_name, c.phone, c.due_at, c.note, c.requested_by, c.agent_id, c.status,
    c.offered_to, c.to_team, c.offered_at, c.done_by, c.done_at, c.created_at
"""


def _callback(row: asyncpg.Record) -> Callback:
    return Callback(
        id=row["id"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        phone=row["phone"],
        due_at=row["due_at"],
        note=row["note"],
        requested_by=row["requested_by"],
        agent_id=row["agent_id"],
        status=CallbackStatus(row["status"]),
        offered_to=tuple(row["offered_to"]),
        to_team=row["to_team"],
        offered_at=row["offered_at"],
        done_by=row["done_by"],
        done_at=row["done_at"],
        created_at=row["created_at"],
    )


class CallbackStore:
    """The only place that reads and writes promised callbacks."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, new: NewCallback, customer_name: str, now: datetime) -> Callback:
        """Store a scheduled callback."""
        row = await self._pool.fetchrow(
            f"""
            INSERT INTO callbacks AS c (customer_id, customer_name, phone, due_at, note, requested_by,
                                        agent_id, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING {_COLUMNS}
            """,
            new.customer_id,
            customer_name,
            new.phone,
            new.due_at,
            new.note,
            new.requested_by,
            new.agent_id,
            now,
        )
        assert row is not None
        return _callback(row)

    async def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Callback]:
        """Lease up to `limit` scheduled callbacks due by `now` that no live lease holds."""
        rows = await self._pool.fetch(
            f"""
            WITH due AS (
                SELECT id FROM callbacks
                WHERE status = 'scheduled' AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                ORDER BY due_at LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE callbacks c
            SET lease_until = $1 + make_interval(secs => $2), attempts = c.attempts + 1
            FROM due WHERE c.id = due.id
            RETURNING {_COLUMNS}
            """,
            now,
            lease_s,
            limit,
        )
        return [_callback(row) for row in rows]

    async def mark_offered(
        self, callback_id: int, agent_ids: tuple[int, ...], to_team: bool, now: datetime
    ) -> Callback | None:
        """Record whom it popped for; None when it is no longer this claim's to offer."""
        row = await self._pool.fetchrow(
            f"""
            UPDATE callbacks c
            SET status = 'offered', offered_to = $2, to_team = $3, offered_at = $4, lease_until = NULL
            WHERE c.id = $1 AND c.status = 'scheduled'
            RETURNING {_COLUMNS}
            """,
            callback_id,
            list(agent_ids),
            to_team,
            now,
        )
        return None if row is None else _callback(row)

    async def get_open(self, callback_id: int) -> Callback:
        """A scheduled or offered callback; CallbackNotFoundError when none is open with that id."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM callbacks c WHERE c.id = $1 AND c.status IN ('scheduled', 'offered')",
            callback_id,
        )
        if row is None:
            raise CallbackNotFoundError(callback_id)
        return _callback(row)

    async def open_for(self, agent_id: int) -> list[Callback]:
        """The agent's open callbacks: those they promised and those popped for them, soonest first."""
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM callbacks c
            WHERE c.status IN ('scheduled', 'offered')
              AND (c.agent_id = $1 OR (c.status = 'offered' AND $1 = ANY(c.offered_to)))
            ORDER BY c.due_at, c.id
            LIMIT 200
            """,
            agent_id,
        )
        return [_callback(row) for row in rows]

    async def close(self, callback_id: int, status: CallbackStatus, agent_id: int, now: datetime) -> Callback:
        """Mark an open callback done or cancelled by `agent_id`; CallbackNotFoundError if not open."""
        row = await self._pool.fetchrow(
            f"""
            UPDATE callbacks c SET status = $2, done_by = $3, done_at = $4, lease_until = NULL
            WHERE c.id = $1 AND c.status IN ('scheduled', 'offered')
            RETURNING {_COLUMNS}
            """,
            callback_id,
            status.value,
            agent_id,
            now,
        )
        if row is None:
            raise CallbackNotFoundError(callback_id)
        return _callback(row)

    async def reopen(self, callback_id: int, status: CallbackStatus) -> None:
        """Put a callback closed by a dial that did not go out back to `status` (scheduled or offered)."""
        await self._pool.execute(
            "UPDATE callbacks SET status = $2, done_by = NULL, done_at = NULL WHERE id = $1 AND status = 'done'",
            callback_id,
            status.value,
        )
