"""Tickets in PostgreSQL: the tickets, their audited timeline, handler profiles and the notice outbox.

Every change runs in a `TicketUnit` (one transaction): the ticket row is locked with
`FOR NO KEY UPDATE`, so two people changing one ticket are serialised and the second sees the first's
result; the row's `version` is bumped by every write, so a client holding an older version is
told instead of overwriting.

Lock order: a change takes its ticket, then (by the trigger of migration 0009) the ticket's
escalation row. The escalation sweep takes escalation rows and stores alarms whose foreign key
takes `FOR KEY SHARE` on their tickets; `NO KEY UPDATE` does not conflict with that, so the
sweep never waits for a ticket being changed and the two cannot wait for each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tickets.assignment import HandlerLoad
from tickets.errors import InvalidTicketError, TicketNotFoundError
from tickets.model import (
    ActorKind,
    Channel,
    NewTicket,
    Priority,
    Ticket,
    TicketEntry,
    TicketStatus,
)

# A string: asyncpg's proxy class cannot be subscripted at run time, only by the type checker.
Connection: TypeAlias = "asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"
MAX_PAGE = 100
# A phone number matches a ticket's contact on its last nine digits (a Vietnamese subscriber
# number without 0 or +84); fewer than eight digits never match.
MIN_PHONE_DIGITS = 8

_TICKET_COLUMNS = """
    t.id, t.version, t.status, t.subject, t.description, t.category, t.channel, t.priority,
    t.customer_id, t.customer_name, t.customer_tier, t.top_tier, t.contact_email, t.contact_phone,
    t.call_id, t.assignee_id, t.department, t.created_by, t.created_at, t.updated_at,
    t.first_response_due, t.resolution_due, t.first_responded_at, t.resolved_at, t.closed_at,
    t.sla_paused_at, t.resolution, t.reopen_count
"""
# The order of every work list: important customers first, then urgency, then the nearest deadline.
_WORK_ORDER = "t.top_tier DESC, t.tier_rank DESC, t.priority_rank DESC, t.resolution_due ASC NULLS LAST, t.id"

_INSERT = f"""
    INSERT INTO tickets AS t (status, subject, description, category, channel, priority, priority_rank,
                              customer_id, customer_name, customer_tier, tier_rank, top_tier,
                              contact_email, contact_phone, call_id, created_by, created_at, updated_at,
                              first_response_due, resolution_due)
    VALUES ('new', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18)
    RETURNING {_TICKET_COLUMNS}
"""

_SAVE = f"""
    UPDATE tickets AS t
    SET version = t.version + 1, status = $3, assignee_id = $4, department = $5, updated_at = $6,
        first_response_due = $7, resolution_due = $8, first_responded_at = $9, resolved_at = $10,
        closed_at = $11, sla_paused_at = $12, resolution = $13, reopen_count = $14
    WHERE t.id = $1 AND t.version = $2
    RETURNING {_TICKET_COLUMNS}
"""

_ADD_ENTRY = """
    INSERT INTO ticket_events (ticket_id, at, actor_kind, actor_id, action, from_status, to_status,
                               assignee_id, note, customer_visible)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    RETURNING id, ticket_id, at, actor_kind, actor_id, action, from_status, to_status, note, customer_visible
"""

# Open tickets are named by the same literal predicate as the partial indexes.
_IS_OPEN = "status NOT IN ('resolved', 'closed')"
# A handler's workload is kept in ticket_handler_loads by a trigger on tickets (migration 0011).
_HANDLERS = """
    SELECT h.agent_id, h.department, h.skills, h.capacity, COALESCE(l.open_count, 0) AS open_count
    FROM ticket_handlers h LEFT JOIN ticket_handler_loads l ON l.agent_id = h.agent_id
    WHERE $1::text IS NULL OR $1 = ANY(h.skills)
    ORDER BY h.agent_id
"""
# Locking the load row serialises assignments to one handler; the locked row's count is the
# current one (a row changed since the statement began is read again once locked).
_HANDLER = """
    SELECT h.agent_id, h.department, h.skills, h.capacity, l.open_count
    FROM ticket_handlers h JOIN ticket_handler_loads l ON l.agent_id = h.agent_id
    WHERE h.agent_id = $1
"""
# Intake with auto-assignment in one statement: the best skilled handler with room whose load row
# nobody else holds (as `rank_handlers` orders them), locked; the ticket stored already assigned
# (version 2, as after its assignment); its "open" and "assign" entries, in that order.
_INTAKE_AUTO_ASSIGNED = f"""
    WITH chosen AS (
        SELECT h.agent_id, h.department, h.skills, h.capacity, l.open_count
        FROM ticket_handlers h JOIN ticket_handler_loads l ON l.agent_id = h.agent_id
        WHERE $3 = ANY(h.skills) AND l.open_count < h.capacity
        ORDER BY l.open_count::float8 / h.capacity, l.open_count, h.agent_id
        LIMIT 1
        FOR UPDATE OF l SKIP LOCKED
    ), ticket AS (
        INSERT INTO tickets AS t (status, version, assignee_id, department, subject, description, category,
                                  channel, priority, priority_rank, customer_id, customer_name, customer_tier,
                                  tier_rank, top_tier, contact_email, contact_phone, call_id, created_by,
                                  created_at, updated_at, first_response_due, resolution_due)
        SELECT 'assigned', 2, c.agent_id, c.department, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
               $13, $14, $15, $16, $16, $17, $18
        FROM chosen c
        RETURNING {_TICKET_COLUMNS}
    ), entries AS (
        INSERT INTO ticket_events (ticket_id, at, actor_kind, actor_id, action, from_status, to_status,
                                   assignee_id, note, customer_visible)
        SELECT t.id, $16, $19, $20, e.action, e.from_status, e.to_status, e.assignee_id, e.note, false
        FROM ticket t, chosen c,
             LATERAL (VALUES (1, 'open', NULL, 'new', NULL, $2),
                             (2, 'assign', 'new', 'assigned', c.agent_id, format($21, c.department, c.open_count)))
             AS e(n, action, from_status, to_status, assignee_id, note)
        ORDER BY e.n
        RETURNING id, ticket_id, at, actor_kind, actor_id, action, from_status, to_status, note, customer_visible
    )
    SELECT {_TICKET_COLUMNS}, c.skills AS handler_skills, c.capacity AS handler_capacity,
           c.open_count AS handler_open_count, e.id AS entry_id, e.at AS entry_at, e.actor_kind, e.actor_id,
           e.action, e.from_status, e.to_status, e.note, e.customer_visible
    FROM ticket t, chosen c, entries e
    ORDER BY e.id
"""

# The outboxes (customer notices, alert deliveries) share their columns and their status rules.
OutboxTable: TypeAlias = Literal["ticket_notices", "alert_deliveries"]


async def outbox_sent(pool: asyncpg.Pool, table: OutboxTable, row_id: int, at: datetime) -> None:
    """Mark one outbox row delivered."""
    await pool.execute(
        f"UPDATE {table} SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1", row_id, at
    )


async def outbox_failed(
    pool: asyncpg.Pool, table: OutboxTable, row_id: int, error: str, retry_at: datetime | None
) -> None:
    """Record a failed attempt: due again at `retry_at`, or given up (status failed) when None."""
    await pool.execute(
        f"""
        UPDATE {table}
        SET last_error = $2, status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
            next_attempt_at = COALESCE($3, next_attempt_at)
        WHERE id = $1
        """,
        row_id,
        error[:1000],
        retry_at,
    )


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Filters and paging of a work list; None means "any"."""

    statuses: tuple[TicketStatus, ...] = ()
    open_only: bool = False
    assignee_id: int | None = None
    unassigned: bool = False
    customer_id: int | None = None
    category: str | None = None
    priority: Priority | None = None
    top_tier_only: bool = False
    text: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of a work list and how many tickets match in all."""

    tickets: tuple[Ticket, ...]
    total: int


@dataclass(frozen=True, slots=True)
class ReopenCount:
    """How often tickets of one handler and category were reopened, out of how many resolutions."""

    assignee_id: int | None
    category: str
    reopened: int
    resolved: int


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to a customer waiting in (or taken from) the outbox, about a ticket or the customer."""

    id: int
    ticket_id: int | None
    customer_id: int | None
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class NoticeStatus:
    """What happened to a notice so far, for the ticket's detail view."""

    id: int
    kind: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketRow:
    """What intake stores beside the request: the customer as they are now, the creator and the deadlines."""

    customer_name: str
    customer_tier: str
    tier_rank: int
    top_tier: bool
    contact_email: str | None
    contact_phone: str | None
    created_by: int | None
    at: datetime
    first_response_due: datetime
    resolution_due: datetime


@dataclass(frozen=True, slots=True)
class AutoAssigned:
    """A ticket taken in and auto-assigned in one statement: as stored, its handler and its two entries."""

    ticket: Ticket
    handler: HandlerLoad
    opened: TicketEntry
    assigned: TicketEntry


def _ticket(row: asyncpg.Record) -> Ticket:
    return Ticket(
        id=row["id"],
        version=row["version"],
        status=TicketStatus(row["status"]),
        subject=row["subject"],
        description=row["description"],
        category=row["category"],
        channel=Channel(row["channel"]),
        priority=Priority(row["priority"]),
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        customer_tier=row["customer_tier"],
        top_tier=row["top_tier"],
        contact_email=row["contact_email"],
        contact_phone=row["contact_phone"],
        call_id=row["call_id"],
        assignee_id=row["assignee_id"],
        department=row["department"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        first_response_due=row["first_response_due"],
        resolution_due=row["resolution_due"],
        first_responded_at=row["first_responded_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        sla_paused_at=row["sla_paused_at"],
        resolution=row["resolution"],
        reopen_count=row["reopen_count"],
    )


def _entry(row: asyncpg.Record) -> TicketEntry:
    return TicketEntry(
        id=row["id"],
        ticket_id=row["ticket_id"],
        at=row["at"],
        actor_kind=ActorKind(row["actor_kind"]),
        actor_id=row["actor_id"],
        action=row["action"],
        from_status=None if row["from_status"] is None else TicketStatus(row["from_status"]),
        to_status=None if row["to_status"] is None else TicketStatus(row["to_status"]),
        note=row["note"],
        customer_visible=row["customer_visible"],
    )


def _intake_arguments(new: NewTicket, row: TicketRow) -> tuple[Any, ...]:
    """The parameters $1-$18 of `_INSERT` and `_INTAKE_AUTO_ASSIGNED`."""
    return (
        new.subject,
        new.description,
        new.category,
        new.channel.value,
        new.priority.value,
        new.priority.rank,
        new.customer_id,
        row.customer_name,
        row.customer_tier,
        row.tier_rank,
        row.top_tier,
        row.contact_email,
        row.contact_phone,
        new.call_id,
        row.created_by,
        row.at,
        row.first_response_due,
        row.resolution_due,
    )


def _intake_entry(row: asyncpg.Record) -> TicketEntry:
    return TicketEntry(
        id=row["entry_id"],
        ticket_id=row["id"],
        at=row["entry_at"],
        actor_kind=ActorKind(row["actor_kind"]),
        actor_id=row["actor_id"],
        action=row["action"],
        from_status=None if row["from_status"] is None else TicketStatus(row["from_status"]),
        to_status=TicketStatus(row["to_status"]),
        note=row["note"],
        customer_visible=row["customer_visible"],
    )


def _load(row: asyncpg.Record) -> HandlerLoad:
    return HandlerLoad(
        agent_id=row["agent_id"],
        department=row["department"],
        skills=tuple(row["skills"]),
        capacity=row["capacity"],
        open_count=row["open_count"],
    )


class TicketUnit:
    """One transaction over tickets: lock, change, audit and queue notices, all or nothing."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def insert(self, new: NewTicket, row: TicketRow) -> Ticket:
        """Store a new ticket in status NEW."""
        stored = await self._conn.fetchrow(_INSERT, *_intake_arguments(new, row))
        assert stored is not None
        return _ticket(stored)

    async def lock(self, ticket_id: int) -> Ticket:
        """The ticket, locked until the unit ends; TicketNotFoundError if there is none."""
        row = await self._conn.fetchrow(
            f"SELECT {_TICKET_COLUMNS} FROM tickets t WHERE t.id = $1 FOR NO KEY UPDATE", ticket_id
        )
        if row is None:
            raise TicketNotFoundError(ticket_id)
        return _ticket(row)

    async def save(self, changed: Ticket) -> Ticket:
        """Write the mutable fields of a ticket locked in this unit; returns it with its new version."""
        row = await self._conn.fetchrow(
            _SAVE,
            changed.id,
            changed.version,
            changed.status.value,
            changed.assignee_id,
            changed.department,
            changed.updated_at,
            changed.first_response_due,
            changed.resolution_due,
            changed.first_responded_at,
            changed.resolved_at,
            changed.closed_at,
            changed.sla_paused_at,
            changed.resolution,
            changed.reopen_count,
        )
        # The row is locked by this unit, so its version cannot have moved under us.
        assert row is not None, f"ticket {changed.id} changed while locked"
        return _ticket(row)

    async def add_entry(
        self,
        ticket: Ticket,
        *,
        at: datetime,
        actor_kind: ActorKind,
        actor_id: int | None,
        action: str,
        from_status: TicketStatus | None,
        to_status: TicketStatus | None,
        note: str,
        customer_visible: bool,
    ) -> TicketEntry:
        """Append one audited entry; `ticket` is the state after it (its handler is recorded)."""
        row = await self._conn.fetchrow(
            _ADD_ENTRY,
            ticket.id,
            at,
            actor_kind.value,
            actor_id,
            action,
            None if from_status is None else from_status.value,
            None if to_status is None else to_status.value,
            ticket.assignee_id,
            note,
            customer_visible,
        )
        assert row is not None
        return _entry(row)

    async def handler_loads(self, category: str) -> list[HandlerLoad]:
        """Handlers with the skill for `category` and their open workload, not locked (a snapshot)."""
        rows = await self._conn.fetch(_HANDLERS, category)
        return [_load(row) for row in rows]

    async def lock_handler(self, agent_id: int) -> HandlerLoad | None:
        """One handler and their current workload, their load row locked until the unit ends.

        None if the agent has no handler profile. Locking the load row serialises assignments to
        one person, so capacity is never overbooked.
        """
        row = await self._conn.fetchrow(_HANDLER + " FOR UPDATE OF l", agent_id)
        return None if row is None else _load(row)

    async def lock_handler_with_room(self, agent_id: int, *, skip_locked: bool) -> HandlerLoad | None:
        """Like `lock_handler`, but only a handler with room is kept locked; None otherwise, and with
        `skip_locked` when another unit holds them.

        A handler found full is let go at once (the lock is taken in a savepoint that is rolled back),
        so a unit looking for room holds no row but the one it takes and cannot be part of a circle.
        """
        wait = " SKIP LOCKED" if skip_locked else ""
        attempt = self._conn.transaction()
        await attempt.start()
        row = await self._conn.fetchrow(
            _HANDLER + " AND l.open_count < h.capacity FOR UPDATE OF l" + wait, agent_id
        )
        if row is None:
            await attempt.rollback()
            return None
        await attempt.commit()
        return _load(row)

    async def lock_load(self, agent_id: int) -> None:
        """Hold an agent's load row until the unit ends (the one a ticket leaving them will write)."""
        await self._conn.execute(
            "SELECT 1 FROM ticket_handler_loads WHERE agent_id = $1 FOR UPDATE", agent_id
        )

    async def set_confirm_token(
        self, ticket_id: int, token_hash: bytes | None, expires_at: datetime | None
    ) -> None:
        """Issue (or with None, void) the customer's confirm link for a resolved ticket."""
        await self._conn.execute(
            "UPDATE tickets SET confirm_token_hash = $2, confirm_expires_at = $3 WHERE id = $1",
            ticket_id,
            token_hash,
            expires_at,
        )

    async def lock_by_confirm_token(self, token_hash: bytes, now: datetime) -> Ticket | None:
        """The resolved ticket a live confirm link belongs to, locked; None if unknown or expired."""
        row = await self._conn.fetchrow(
            f"""
            SELECT {_TICKET_COLUMNS} FROM tickets t
            WHERE t.confirm_token_hash = $1 AND t.confirm_expires_at > $2
            FOR NO KEY UPDATE
            """,
            token_hash,
            now,
        )
        return None if row is None else _ticket(row)

    async def enqueue_notice(
        self,
        ticket_id: int,
        *,
        kind: str,
        channel: str,
        recipient: str,
        subject: str,
        body: str,
        at: datetime,
    ) -> None:
        """Queue a message to the customer; it is sent once this unit commits."""
        await self._conn.execute(
            """
            INSERT INTO ticket_notices (ticket_id, kind, channel, recipient, subject, body,
                                        next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
            """,
            ticket_id,
            kind,
            channel,
            recipient,
            subject,
            body,
            at,
        )


class TicketStore:
    """Reads tickets and opens units of work on the shared pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[TicketUnit]:
        """A transaction: committed when the block ends normally, rolled back on any error."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield TicketUnit(conn)

    async def insert_auto_assigned(
        self, new: NewTicket, row: TicketRow, *, actor_kind: ActorKind, actor_id: int | None, assign_note: str
    ) -> AutoAssigned | None:
        """Store a new ticket already given to the best free handler with room, with both its entries.

        One statement, so all of it or nothing without a transaction of its own.

        `assign_note` is a format() string of the handler's department and open count. None, and
        nothing stored, when every skilled handler with room is full or being assigned by another unit.
        """
        rows = await self._pool.fetch(
            _INTAKE_AUTO_ASSIGNED, *_intake_arguments(new, row), actor_kind.value, actor_id, assign_note
        )
        if not rows:
            return None
        opened, assigned = rows
        ticket = _ticket(assigned)
        handler = HandlerLoad(
            agent_id=ticket.assignee_id or 0,
            department=ticket.department or "",
            skills=tuple(assigned["handler_skills"]),
            capacity=assigned["handler_capacity"],
            open_count=assigned["handler_open_count"],
        )
        return AutoAssigned(ticket, handler, _intake_entry(opened), _intake_entry(assigned))

    async def get(self, ticket_id: int) -> Ticket:
        """The ticket, or TicketNotFoundError."""
        row = await self._pool.fetchrow(f"SELECT {_TICKET_COLUMNS} FROM tickets t WHERE t.id = $1", ticket_id)
        if row is None:
            raise TicketNotFoundError(ticket_id)
        return _ticket(row)

    async def entries(self, ticket_id: int) -> list[TicketEntry]:
        """The ticket's timeline, oldest first."""
        rows = await self._pool.fetch(
            """
            SELECT id, ticket_id, at, actor_kind, actor_id, action, from_status, to_status, note,
                   customer_visible
            FROM ticket_events WHERE ticket_id = $1 ORDER BY id
            """,
            ticket_id,
        )
        return [_entry(row) for row in rows]

    async def notices(self, ticket_id: int) -> list[NoticeStatus]:
        """The notices of one ticket and how their delivery went, oldest first."""
        rows = await self._pool.fetch(
            """
            SELECT id, kind, channel, recipient, status, attempts, last_error, created_at, sent_at
            FROM ticket_notices WHERE ticket_id = $1 ORDER BY id
            """,
            ticket_id,
        )
        return [NoticeStatus(**dict(row)) for row in rows]

    async def search(self, query: TicketQuery) -> TicketPage:
        """One page of the tickets matching `query`, in work-list order."""
        if not 1 <= query.limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1..{MAX_PAGE}")
        where, args = _where(query)
        rows = await self._pool.fetch(
            f"""
            SELECT {_TICKET_COLUMNS}, count(*) OVER () AS total FROM tickets t
            WHERE {where} ORDER BY {_WORK_ORDER} LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}
            """,
            *args,
            query.limit,
            query.offset,
        )
        if rows or query.offset == 0:
            total = rows[0]["total"] if rows else 0
        else:
            total = await self._pool.fetchval(f"SELECT count(*) FROM tickets t WHERE {where}", *args)
        return TicketPage(tuple(_ticket(row) for row in rows), int(total))

    async def handler_loads(self, category: str | None = None) -> list[HandlerLoad]:
        """Handlers (with the skill for `category`, or all) and their open workload."""
        rows = await self._pool.fetch(_HANDLERS, category)
        return [_load(row) for row in rows]

    async def set_handler(self, agent_id: int, department: str, skills: Sequence[str], capacity: int) -> None:
        """Create or replace an agent's handler profile; InvalidTicketError if there is no such agent."""
        try:
            await self._pool.execute(
                """
            INSERT INTO ticket_handlers (agent_id, department, skills, capacity) VALUES ($1, $2, $3, $4)
            ON CONFLICT (agent_id) DO UPDATE
                SET department = EXCLUDED.department, skills = EXCLUDED.skills, capacity = EXCLUDED.capacity
            """,
                agent_id,
                department,
                sorted(set(skills)),
                capacity,
            )
        except asyncpg.ForeignKeyViolationError:
            raise InvalidTicketError({"agent_id": f"there is no agent {agent_id}"}) from None

    async def has_overdue_ticket(self, customer_id: int, now: datetime) -> bool:
        """An open, unpaused ticket of the customer past its first-response or resolution deadline."""
        return bool(
            await self._pool.fetchval(
                f"""
                SELECT EXISTS (
                    SELECT 1 FROM tickets t
                    WHERE t.customer_id = $1 AND t.{_IS_OPEN} AND t.sla_paused_at IS NULL
                      AND (t.resolution_due < $2 OR (t.first_responded_at IS NULL AND t.first_response_due < $2))
                )
                """,
                customer_id,
                now,
            )
        )

    async def by_contact(self, ticket_id: int, email: str | None, phone_digits: str | None) -> Ticket | None:
        """The ticket, only if `email` or the phone's last nine digits are the ticket's contact."""
        row = await self._pool.fetchrow(
            f"""
            SELECT {_TICKET_COLUMNS} FROM tickets t
            WHERE t.id = $1
              AND ((t.contact_email IS NOT NULL AND lower(t.contact_email) = lower($2))
                   OR (length(regexp_replace(coalesce(t.contact_phone, ''), '[^0-9]', '', 'g')) >= {MIN_PHONE_DIGITS}
                       AND right(regexp_replace(t.contact_phone, '[^0-9]', '', 'g'), 9) = right($3, 9)))
            """,
            ticket_id,
            email,
            phone_digits,
        )
        return None if row is None else _ticket(row)

    async def open_categories(self, customer_id: int) -> list[str]:
        """The categories of the customer's open tickets, most recently changed first."""
        rows = await self._pool.fetch(
            f"""
            SELECT t.category, max(t.updated_at) AS changed FROM tickets t
            WHERE t.customer_id = $1 AND t.{_IS_OPEN}
            GROUP BY t.category ORDER BY changed DESC
            """,
            customer_id,
        )
        return [row["category"] for row in rows]

    async def reopen_counts(self, since: datetime) -> list[ReopenCount]:
        """Per handler and category since `since`: resolutions and how many of them were reopened."""
        rows = await self._pool.fetch(
            """
            SELECT e.assignee_id, t.category,
                   count(*) FILTER (WHERE e.action = 'reopen') AS reopened,
                   count(*) FILTER (WHERE e.action = 'resolve') AS resolved
            FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
            WHERE e.at >= $1 AND e.action IN ('resolve', 'reopen')
            GROUP BY e.assignee_id, t.category
            ORDER BY reopened DESC, resolved DESC, t.category, e.assignee_id NULLS LAST
            """,
            since,
        )
        return [ReopenCount(**dict(row)) for row in rows]

    async def claim_notices(self, now: datetime, lease_s: float, limit: int) -> list[Notice]:
        """Take due notices for delivery; a claim is a lease, so a crashed sender's notices come back."""
        rows = await self._pool.fetch(
            """
            WITH due AS (
                SELECT id FROM ticket_notices
                WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE ticket_notices n
            SET next_attempt_at = $1 + make_interval(secs => $2), attempts = n.attempts + 1
            FROM due WHERE n.id = due.id
            RETURNING n.id, n.ticket_id, n.customer_id, n.kind, n.channel, n.recipient, n.subject, n.body,
                      n.attempts
            """,
            now,
            lease_s,
            limit,
        )
        return [Notice(**dict(row)) for row in rows]

    async def enqueue_greeting(
        self,
        customer_id: int,
        *,
        kind: str,
        year: int,
        channel: str,
        recipient: str,
        subject: str,
        body: str,
        at: datetime,
    ) -> bool:
        """Queue a greeting unless this customer already has one of this kind for `year`; True if queued.

        The unique index ticket_notices_greeting_once decides, so two nodes greet once between them.
        """
        queued = await self._pool.fetchval(
            """
            INSERT INTO ticket_notices (customer_id, kind, greeting_year, channel, recipient, subject, body,
                                        next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
            ON CONFLICT (customer_id, kind, greeting_year) WHERE greeting_year IS NOT NULL DO NOTHING
            RETURNING id
            """,
            customer_id,
            kind,
            year,
            channel,
            recipient,
            subject,
            body,
            at,
        )
        return queued is not None

    async def notice_sent(self, notice_id: int, at: datetime) -> None:
        """Record a delivered notice."""
        await outbox_sent(self._pool, "ticket_notices", notice_id, at)

    async def notice_failed(self, notice_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried at `retry_at`, or given up (status failed) when None."""
        await outbox_failed(self._pool, "ticket_notices", notice_id, error, retry_at)


def _where(query: TicketQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a work list, built only from constant fragments and $n parameters."""
    clauses = ["true"]
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.statuses:
        clauses.append(f"t.status = ANY({param([s.value for s in query.statuses])}::text[])")
    if query.open_only:
        clauses.append(f"t.{_IS_OPEN}")
    if query.assignee_id is not None:
        clauses.append(f"t.assignee_id = {param(query.assignee_id)}")
    if query.unassigned:
        clauses.append("t.assignee_id IS NULL")
    if query.customer_id is not None:
        clauses.append(f"t.customer_id = {param(query.customer_id)}")
    if query.category is not None:
        clauses.append(f"t.category = {param(query.category)}")
    if query.priority is not None:
        clauses.append(f"t.priority = {param(query.priority.value)}")
    if query.top_tier_only:
        clauses.append("t.top_tier")
    if query.text:
        like = "%" + query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        number = int(query.text) if query.text.isdigit() and len(query.text) < 18 else None
        clauses.append(
            f"(t.subject ILIKE {param(like)} OR t.customer_name ILIKE ${len(args)} OR t.id = {param(number)})"
        )
    return " AND ".join(clauses), args
