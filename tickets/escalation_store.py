"""Escalation alarms in PostgreSQL: the sweep's due rows, the alerts, their deliveries, watched customers.

Due work is claimed with `FOR UPDATE SKIP LOCKED` and a lease (the claim pushes `check_at` out by
the lease), so several nodes share the sweep, a crashed node's claims come due again, and a restart
loses nothing. Alerts are unique by `dedupe_key`: a step stored twice is stored once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tickets.errors import AlertNotFoundError, CustomerNotWatchableError
from tickets.escalation import Alarm, EscalationState, TicketClock
from tickets.model import Priority, TicketStatus
from tickets.store import outbox_failed, outbox_sent

MAX_PAGE = 200

_ALERT_COLUMNS = """
    a.id, a.dedupe_key, a.kind, a.title, a.ticket_id, a.customer_id, a.level, a.role, a.recipient_name,
    a.agent_id, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.snoozed_until
"""
_DELIVERIES = """
    COALESCE((SELECT json_agg(json_build_object(
                  'id', d.id, 'channel', d.channel, 'recipient', d.recipient, 'status', d.status,
                  'attempts', d.attempts, 'last_error', d.last_error, 'next_attempt_at', d.next_attempt_at,
                  'sent_at', d.sent_at) ORDER BY d.id)
              FROM alert_deliveries d WHERE d.alert_id = a.id), '[]') AS deliveries
"""


@dataclass(frozen=True, slots=True)
class DueTicket:
    """A claimed ticket: its clocks, its escalation state, its watch owner's account and the lease it holds."""

    ticket: TicketClock
    state: EscalationState
    owner_agent_id: int | None
    owner_email: str | None
    leased_until: datetime


@dataclass(frozen=True, slots=True)
class SweptTicket:
    """What one evaluation wrote back: the state, when to look next, and the steps that came due."""

    ticket_id: int
    customer_id: int | None
    leased_until: datetime
    state: EscalationState
    next_check_at: datetime | None
    alarms: tuple[Alarm, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alarm."""

    id: int
    dedupe_key: str
    kind: str
    title: str
    ticket_id: int | None
    customer_id: int | None
    level: int
    role: str | None
    recipient_name: str | None
    agent_id: int | None
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One channel of an alert, taken from the outbox."""

    id: int
    channel: str
    recipient: str
    attempts: int
    alert: Alert


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert with the status of each of its deliveries, for the supervisor feed."""

    alert: Alert
    deliveries: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class EscalatedTicket:
    """A ticket on the ladder: how long past its breach, the level it reached, and whether it was taken on."""

    ticket_id: int
    subject: str
    status: str
    priority: str
    customer_name: str
    department: str | None
    assignee_id: int | None
    breached_at: datetime
    level: int
    acknowledged_at: datetime | None
    snoozed_until: datetime | None


@dataclass(frozen=True, slots=True)
class Watch:
    """A customer whose tickets and calls alert the account `owner_agent_id` at once."""

    customer_id: int
    owner_agent_id: int
    owner_email: str | None
    note: str
    watched_at: datetime


def _alert(row: asyncpg.Record) -> Alert:
    return Alert(**{k: row[k] for k in Alert.__slots__})


def _due(row: asyncpg.Record) -> DueTicket:
    ticket = TicketClock(
        ticket_id=row["ticket_id"],
        subject=row["subject"],
        status=TicketStatus(row["status"]),
        priority=Priority(row["priority"]),
        tier=row["customer_tier"],
        top_tier=row["top_tier"],
        department=row["department"],
        assignee_id=row["assignee_id"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        created_at=row["created_at"],
        first_response_due=row["first_response_due"],
        resolution_due=row["resolution_due"],
        first_responded_at=row["first_responded_at"],
        sla_paused_at=row["sla_paused_at"],
    )
    state = EscalationState(
        row["level"], row["level_at"], row["breached_at"], row["acknowledged_at"], row["snoozed_until"]
    )
    return DueTicket(ticket, state, row["owner_agent_id"], row["owner_email"], row["check_at"])


def alarm_key(alarm: Alarm, *, ticket_id: int | None = None, customer_id: int | None = None) -> str:
    """The unique name of a stored step: per ticket, or per customer for call alarms."""
    if ticket_id is not None:
        return f"ticket:{ticket_id}:{alarm.key}"
    return f"customer:{customer_id}:{alarm.key}"


# The alarms of a batch ($1-$9, one array element per alarm) stored once each, with their
# deliveries ($11-$13: the alarm's position in $1, channel, recipient) for the ones stored now,
# in one statement: a step already stored (another sweeper won) gets no second set of deliveries.
_STORE_ALARMS = f"""
    u AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::smallint[],
                             $7::text[], $8::text[], $9::bigint[]) WITH ORDINALITY
             AS u(key, kind, title, ticket_id, customer_id, level, role, recipient_name, agent_id, n)
    ), stored AS (
        INSERT INTO alerts AS a (dedupe_key, kind, title, ticket_id, customer_id, level, role, recipient_name,
                                 agent_id, raised_at)
        SELECT u.key, u.kind, u.title, u.ticket_id, u.customer_id, u.level, u.role, u.recipient_name,
               u.agent_id, $10
        FROM u ORDER BY u.n
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING {_ALERT_COLUMNS}
    ), delivered AS (
        INSERT INTO alert_deliveries (alert_id, channel, recipient, next_attempt_at)
        SELECT s.id, d.channel, d.recipient, $10
        FROM unnest($11::bigint[], $12::text[], $13::text[]) AS d(n, channel, recipient)
        JOIN u ON u.n = d.n
        JOIN stored s ON s.dedupe_key = u.key
    )
"""


def _alarm_arguments(
    alarms: Sequence[tuple[str, Alarm, int | None, int | None]],
    deliveries: dict[str, list[tuple[str, str]]],
    now: datetime,
) -> list[Any]:
    """The parameters $1-$13 of `_STORE_ALARMS`: (key, alarm, ticket, customer) and each key's deliveries.

    Each alarm's `agent_id` is the account it is addressed to, already resolved by the caller.
    """
    plan = [(n, ch, to) for n, (key, _, _, _) in enumerate(alarms, 1) for ch, to in deliveries.get(key, ())]
    return [
        [key for key, _, _, _ in alarms],
        [a.kind.value for _, a, _, _ in alarms],
        [a.title for _, a, _, _ in alarms],
        [ticket_id for _, _, ticket_id, _ in alarms],
        [customer_id for _, _, _, customer_id in alarms],
        [a.level for _, a, _, _ in alarms],
        [a.role for _, a, _, _ in alarms],
        [a.recipient.name if a.recipient else None for _, a, _, _ in alarms],
        [a.agent_id for _, a, _, _ in alarms],
        now,
        [n for n, _, _ in plan],
        [ch for _, ch, _ in plan],
        [to for _, _, to in plan],
    ]


class EscalationStore:
    """Reads and writes the escalation tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # --- the sweep ---------------------------------------------------------------------------

    async def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[DueTicket]:
        """Take up to `limit` tickets due for a look; the claim is a lease of `lease_s` seconds."""
        rows = await self._pool.fetch(
            """
            WITH due AS (
                SELECT ticket_id FROM ticket_escalations
                WHERE check_at IS NOT NULL AND check_at <= $1
                ORDER BY check_at LIMIT $3
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE ticket_escalations e SET check_at = $1 + make_interval(secs => $2)
                FROM due WHERE e.ticket_id = due.ticket_id
                RETURNING e.*
            )
            SELECT c.*, t.subject, t.status, t.priority, t.customer_tier, t.top_tier, t.department,
                   t.assignee_id, t.customer_id, t.customer_name, t.created_at, t.first_response_due,
                   t.resolution_due, t.first_responded_at, t.sla_paused_at,
                   w.owner_agent_id, w.owner_email
            FROM claimed c
            JOIN tickets t ON t.id = c.ticket_id
            LEFT JOIN watched_customers w ON w.customer_id = t.customer_id
            """,
            now,
            lease_s,
            limit,
        )
        return [_due(row) for row in rows]

    async def finish_sweep(
        self,
        swept: Sequence[SweptTicket],
        deliveries: dict[str, list[tuple[str, str]]],
        now: datetime,
    ) -> list[Alert]:
        """Store the steps that came due (each once) with their deliveries, and every ticket's new state.

        A ticket changed while it was claimed keeps the earlier `check_at` its change set, so the
        change is looked at too. Returns the alerts stored now (not the ones already there).
        """
        alarms = [
            (alarm_key(a, ticket_id=s.ticket_id), a, s.ticket_id, s.customer_id)
            for s in swept
            for a in s.alarms
        ]
        # One statement (so one round trip and no BEGIN/COMMIT): the alarms, their deliveries and
        # every ticket's new state are stored together or not at all.
        rows = await self._pool.fetch(
            f"""
            WITH {_STORE_ALARMS}, escalated AS (
                UPDATE ticket_escalations e
                SET level = GREATEST(e.level, v.level),
                    level_at = CASE WHEN v.level > e.level THEN v.level_at ELSE e.level_at END,
                    breached_at = COALESCE(e.breached_at, v.breached_at),
                    check_at = CASE WHEN e.check_at = v.leased THEN v.next_check ELSE e.check_at END
                FROM unnest($14::bigint[], $15::smallint[], $16::timestamptz[], $17::timestamptz[],
                            $18::timestamptz[], $19::timestamptz[])
                     AS v(ticket_id, level, level_at, breached_at, leased, next_check)
                WHERE e.ticket_id = v.ticket_id
            )
            SELECT * FROM stored a ORDER BY a.id
            """,
            *_alarm_arguments(alarms, deliveries, now),
            [s.ticket_id for s in swept],
            [s.state.level for s in swept],
            [s.state.level_at for s in swept],
            [s.state.breached_at for s in swept],
            [s.leased_until for s in swept],
            [s.next_check_at for s in swept],
        )
        return [_alert(row) for row in rows]

    async def raise_customer_alarm(
        self, customer_id: int, alarm: Alarm, deliveries: list[tuple[str, str]], now: datetime
    ) -> Alert | None:
        """Store a customer's alarm once (None when it was already raised) with its deliveries."""
        key = alarm_key(alarm, customer_id=customer_id)
        row = await self._pool.fetchrow(
            f"WITH {_STORE_ALARMS} SELECT * FROM stored",
            *_alarm_arguments([(key, alarm, None, customer_id)], {key: deliveries}, now),
        )
        return None if row is None else _alert(row)

    # --- the delivery outbox -----------------------------------------------------------------

    async def claim_deliveries(self, now: datetime, lease_s: float, limit: int) -> list[AlertDelivery]:
        """Take due deliveries; a claim is a lease, so a crashed sender's deliveries come back."""
        rows = await self._pool.fetch(
            f"""
            WITH due AS (
                SELECT id FROM alert_deliveries
                WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at LIMIT $3
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE alert_deliveries d
                SET next_attempt_at = $1 + make_interval(secs => $2), attempts = d.attempts + 1
                FROM due WHERE d.id = due.id
                RETURNING d.id AS delivery_id, d.alert_id, d.channel, d.recipient, d.attempts
            )
            SELECT c.delivery_id, c.channel, c.recipient, c.attempts, {_ALERT_COLUMNS}
            FROM claimed c JOIN alerts a ON a.id = c.alert_id
            """,
            now,
            lease_s,
            limit,
        )
        return [
            AlertDelivery(row["delivery_id"], row["channel"], row["recipient"], row["attempts"], _alert(row))
            for row in rows
        ]

    async def delivery_sent(self, delivery_id: int, at: datetime) -> None:
        """Record a delivered channel."""
        await outbox_sent(self._pool, "alert_deliveries", delivery_id, at)

    async def delivery_failed(self, delivery_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried at `retry_at`, or given up (status failed) when None."""
        await outbox_failed(self._pool, "alert_deliveries", delivery_id, error, retry_at)

    # --- the supervisor feed -----------------------------------------------------------------

    async def alerts(self, *, agent_id: int | None, limit: int) -> list[AlertView]:
        """The newest alerts (only those addressed to `agent_id` when given) with their deliveries."""
        rows = await self._pool.fetch(
            f"""
            SELECT {_ALERT_COLUMNS}, {_DELIVERIES} FROM alerts a
            WHERE $1::bigint IS NULL OR a.agent_id = $1
            ORDER BY a.raised_at DESC, a.id DESC LIMIT $2
            """,
            agent_id,
            min(limit, MAX_PAGE),
        )
        return [AlertView(_alert(row), tuple(_json_list(row["deliveries"]))) for row in rows]

    async def alert(self, alert_id: int) -> AlertView:
        """One alert with its deliveries, or AlertNotFoundError."""
        row = await self._pool.fetchrow(
            f"SELECT {_ALERT_COLUMNS}, {_DELIVERIES} FROM alerts a WHERE a.id = $1", alert_id
        )
        if row is None:
            raise AlertNotFoundError(alert_id)
        return AlertView(_alert(row), tuple(_json_list(row["deliveries"])))

    async def acknowledge(self, alert_id: int, agent_id: int, now: datetime) -> Alert:
        """Mark the alert taken on and stop its ticket's climb (the ticket is looked at again now)."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"""
                UPDATE alerts a SET acknowledged_at = COALESCE(a.acknowledged_at, $3),
                                    acknowledged_by = COALESCE(a.acknowledged_by, $2), snoozed_until = NULL
                WHERE a.id = $1 RETURNING {_ALERT_COLUMNS}
                """,
                alert_id,
                agent_id,
                now,
            )
            if row is None:
                raise AlertNotFoundError(alert_id)
            await conn.execute(
                """
                UPDATE ticket_escalations
                SET acknowledged_at = COALESCE(acknowledged_at, $3), acknowledged_by = COALESCE(acknowledged_by, $2),
                    check_at = $3
                WHERE ticket_id = $1
                """,
                row["ticket_id"],
                agent_id,
                now,
            )
        return _alert(row)

    async def snooze(self, alert_id: int, until: datetime, now: datetime) -> Alert:
        """Put the alert off until `until`; its ticket climbs no further before then."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE alerts a SET snoozed_until = $2 WHERE a.id = $1 RETURNING {_ALERT_COLUMNS}",
                alert_id,
                until,
            )
            if row is None:
                raise AlertNotFoundError(alert_id)
            await conn.execute(
                "UPDATE ticket_escalations SET snoozed_until = $2, check_at = $3 WHERE ticket_id = $1",
                row["ticket_id"],
                until,
                now,
            )
        return _alert(row)

    async def escalated_tickets(self, limit: int) -> list[EscalatedTicket]:
        """Open tickets past a breach, longest past it first."""
        rows = await self._pool.fetch(
            """
            SELECT t.id AS ticket_id, t.subject, t.status, t.priority, t.customer_name, t.department,
                   t.assignee_id, e.breached_at, e.level, e.acknowledged_at, e.snoozed_until
            FROM ticket_escalations e JOIN tickets t ON t.id = e.ticket_id
            WHERE e.breached_at IS NOT NULL AND t.status NOT IN ('resolved', 'closed')
            ORDER BY e.breached_at, t.id LIMIT $1
            """,
            min(limit, MAX_PAGE),
        )
        return [EscalatedTicket(**dict(row)) for row in rows]

    # --- watched customers -------------------------------------------------------------------

    async def watch(
        self,
        customer_id: int,
        owner_agent_id: int,
        owner_email: str | None,
        note: str,
        by: int,
        now: datetime,
    ) -> Watch:
        """Watch a customer for `owner_agent_id` (replacing an earlier watch); CustomerNotWatchableError."""
        try:
            await self._pool.execute(
                """
                INSERT INTO watched_customers (customer_id, owner_agent_id, owner_email, note, watched_by, watched_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (customer_id) DO UPDATE
                SET owner_agent_id = EXCLUDED.owner_agent_id, owner_email = EXCLUDED.owner_email,
                    note = EXCLUDED.note, watched_by = EXCLUDED.watched_by, watched_at = EXCLUDED.watched_at
                """,
                customer_id,
                owner_agent_id,
                owner_email,
                note,
                by,
                now,
            )
        except asyncpg.ForeignKeyViolationError as exc:
            reason = "there is no such owner account" if "owner" in str(exc) else "there is no such customer"
            raise CustomerNotWatchableError(customer_id, reason) from None
        watched = await self.watched(customer_id=customer_id)
        return watched[0]

    async def unwatch(self, customer_id: int) -> bool:
        """Stop watching a customer; False when they were not watched."""
        result = await self._pool.execute("DELETE FROM watched_customers WHERE customer_id = $1", customer_id)
        return bool(result != "DELETE 0")

    async def watched(self, *, customer_id: int | None = None) -> list[Watch]:
        """Every watch (or just the one of `customer_id`), by customer id."""
        rows = await self._pool.fetch(
            """
            SELECT customer_id, owner_agent_id, owner_email, note, watched_at FROM watched_customers
            WHERE $1::bigint IS NULL OR customer_id = $1
            ORDER BY customer_id
            """,
            customer_id,
        )
        return [Watch(**dict(row)) for row in rows]


def _json_list(value: Any) -> list[dict[str, Any]]:
    # asyncpg hands json back as text unless a codec is set on the pool.
    return list(json.loads(value)) if isinstance(value, str) else list(value)
