"""Campaigns, leads, dial attempts and do-not-call lists in PostgreSQL.

Leads are reserved with `SELECT … FOR UPDATE SKIP LOCKED` and a lease: several dialer nodes
share one campaign and never dial one lead twice, and the leads of a node that died come back
when its lease runs out. The calling window is checked in SQL against each lead's own time zone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from cti.campaigns import (
    Campaign,
    CampaignSpec,
    CampaignState,
    DialMethod,
    DialOutcome,
    DropAction,
    Lead,
    RetryPolicy,
)
from cti.errors import CampaignNotFoundError, InvalidCampaignError, LeadNotFoundError

Db = asyncpg.Pool | asyncpg.Connection

DROP_SUPPRESSION = timedelta(hours=72)

_LEAD_COLUMNS = "id, campaign_id, phone, name, timezone, customer_id, attempts, status, disposition"
# Which leads may be dialled at $2: due, inside the window in their own time zone, on no active
# do-not-call list. Shared by the batch reservation and the preview reservation.
_DIALLABLE = """
    ((l.status IN ('new', 'retry') AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= $2))
      OR (l.status = 'dialing' AND l.reserved_until < $2))
    AND CASE WHEN c.window_start < c.window_end
        THEN ($2 AT TIME ZONE l.timezone)::time >= c.window_start
             AND ($2 AT TIME ZONE l.timezone)::time < c.window_end
        ELSE ($2 AT TIME ZONE l.timezone)::time >= c.window_start
             OR ($2 AT TIME ZONE l.timezone)::time < c.window_end END
    AND NOT EXISTS (
        SELECT 1 FROM do_not_call d
        WHERE d.phone = l.phone AND (d.campaign_id IS NULL OR d.campaign_id = l.campaign_id)
          AND (d.until IS NULL OR d.until > $2))
"""


@dataclass(frozen=True, slots=True)
class NewLead:
    """A validated lead to add to a campaign (phone in E.164, time zone checked)."""

    phone: str
    name: str
    timezone: str
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    """The stored figures of a campaign the supervisor page shows."""

    dialled_24h: int
    answered_24h: int
    dropped_24h: int
    answered_30d: int
    dropped_30d: int
    leads_total: int
    leads_remaining: int


def _lead(row: asyncpg.Record) -> Lead:
    return Lead(
        id=row["id"],
        campaign_id=row["campaign_id"],
        phone=row["phone"],
        name=row["name"],
        timezone=row["timezone"],
        customer_id=row["customer_id"],
        attempts=row["attempts"],
        status=row["status"],
        disposition=row["disposition"],
    )


def _campaign(row: asyncpg.Record) -> Campaign:
    spec = CampaignSpec(
        name=row["name"],
        queue=row["queue"],
        dial_method=DialMethod(row["dial_method"]),
        caller_id=row["caller_id"],
        script=row["script"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        retry=RetryPolicy(
            max_attempts=row["max_attempts"],
            busy_s=row["retry_busy_s"],
            no_answer_s=row["retry_no_answer_s"],
            failed_s=row["retry_failed_s"],
            machine_s=row["retry_machine_s"],
        ),
        sales=row["sales"],
        dial_context=row["dial_context"],
        drop_action=DropAction(row["drop_action"]),
        drop_message_context=row["drop_message_context"],
        abandon_cap=row["abandon_cap"],
        dial_timeout_s=row["dial_timeout_s"],
    )
    return Campaign(row["id"], spec, CampaignState(row["state"]))


class DialerStore:
    """Reads and writes everything the dialer keeps."""

    def __init__(self, db: Db) -> None:
        self._db = db

    # -- campaigns -------------------------------------------------------------------------

    async def create_campaign(self, spec: CampaignSpec) -> Campaign:
        """Store a new campaign (paused); InvalidCampaignError when the name is taken."""
        try:
            async with self._transaction() as conn:  # a savepoint keeps a caller's transaction usable
                row = await conn.fetchrow(
                    """
                INSERT INTO campaigns (name, queue, dial_method, caller_id, script, window_start, window_end,
                    max_attempts, retry_busy_s, retry_no_answer_s, retry_failed_s, retry_machine_s, sales,
                    dial_context, drop_action, drop_message_context, abandon_cap, dial_timeout_s)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                RETURNING *
                """,
                    spec.name,
                    spec.queue,
                    spec.dial_method.value,
                    spec.caller_id,
                    spec.script,
                    spec.window_start,
                    spec.window_end,
                    spec.retry.max_attempts,
                    spec.retry.busy_s,
                    spec.retry.no_answer_s,
                    spec.retry.failed_s,
                    spec.retry.machine_s,
                    spec.sales,
                    spec.dial_context,
                    spec.drop_action.value,
                    spec.drop_message_context,
                    spec.abandon_cap,
                    spec.dial_timeout_s,
                )
        except asyncpg.UniqueViolationError:
            raise InvalidCampaignError([f"a campaign named {spec.name!r} exists already"]) from None
        assert row is not None
        return _campaign(row)

    async def campaign(self, campaign_id: int) -> Campaign:
        """One campaign; CampaignNotFoundError when there is none."""
        row = await self._db.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
        if row is None:
            raise CampaignNotFoundError(campaign_id)
        return _campaign(row)

    async def campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return [_campaign(r) for r in await self._db.fetch("SELECT * FROM campaigns ORDER BY id DESC")]

    async def set_state(self, campaign_id: int, state: CampaignState) -> Campaign:
        """Start, pause or stop a campaign."""
        row = await self._db.fetchrow(
            "UPDATE campaigns SET state = $2 WHERE id = $1 RETURNING *", campaign_id, state.value
        )
        if row is None:
            raise CampaignNotFoundError(campaign_id)
        return _campaign(row)

    # -- leads -----------------------------------------------------------------------------

    async def add_leads(self, campaign_id: int, leads: Sequence[NewLead]) -> tuple[int, int]:
        """Add leads (a number already in the campaign updates its name and zone); (created, updated)."""
        await self.campaign(campaign_id)
        rows = await self._db.fetch(
            """
            INSERT INTO leads (campaign_id, phone, name, timezone, customer_id)
            SELECT $1, t.phone, t.name, t.timezone, t.customer_id
            FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t (phone, name, timezone, customer_id)
            ON CONFLICT (campaign_id, phone) DO UPDATE
                SET name = excluded.name, timezone = excluded.timezone,
                    customer_id = coalesce(excluded.customer_id, leads.customer_id)
            RETURNING (xmax = 0) AS created
            """,
            campaign_id,
            [lead.phone for lead in leads],
            [lead.name for lead in leads],
            [lead.timezone for lead in leads],
            [lead.customer_id for lead in leads],
        )
        created = sum(1 for r in rows if r["created"])
        return created, len(rows) - created

    async def reserve_leads(
        self, campaign_id: int, count: int, *, node: str, now: datetime, lease_s: float
    ) -> list[Lead]:
        """Reserve up to `count` diallable leads for `node`; leads another node holds are skipped."""
        if count <= 0:
            return []
        rows = await self._db.fetch(
            f"""
            WITH due AS (
                SELECT l.id FROM leads l JOIN campaigns c ON c.id = l.campaign_id
                WHERE l.campaign_id = $1 AND {_DIALLABLE}
                ORDER BY l.next_attempt_at NULLS FIRST, l.id
                LIMIT $3
                FOR UPDATE OF l SKIP LOCKED
            )
            UPDATE leads SET status = 'dialing', reserved_by = $4,
                             reserved_until = $2 + make_interval(secs => $5)
            FROM due WHERE leads.id = due.id
            RETURNING {", ".join(f"leads.{c.strip()}" for c in _LEAD_COLUMNS.split(","))}
            """,
            campaign_id,
            now,
            count,
            node,
            lease_s,
        )
        return sorted((_lead(r) for r in rows), key=lambda lead: lead.id)

    async def release_lead(self, lead_id: int, next_attempt_at: datetime | None) -> None:
        """Give a reserved lead back without an attempt (suppressed, or the dial could not be sent)."""
        await self._db.execute(
            """
            UPDATE leads SET status = CASE WHEN attempts = 0 THEN 'new' ELSE 'retry' END,
                             next_attempt_at = $2, reserved_by = NULL, reserved_until = NULL
            WHERE id = $1 AND status = 'dialing'
            """,
            lead_id,
            next_attempt_at,
        )

    async def lead(self, lead_id: int) -> Lead:
        """One lead; LeadNotFoundError when there is none."""
        row = await self._db.fetchrow(f"SELECT {_LEAD_COLUMNS} FROM leads WHERE id = $1", lead_id)
        if row is None:
            raise LeadNotFoundError(lead_id)
        return _lead(row)

    # -- attempts --------------------------------------------------------------------------

    async def record_dial(
        self, channel_id: str, lead: Lead, *, node: str, agent_interface: str | None, now: datetime
    ) -> None:
        """Note an Originate sent for a reserved lead."""
        await self._db.execute(
            """
            INSERT INTO dial_attempts (channel_id, lead_id, campaign_id, node, agent_interface, dialled_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            channel_id,
            lead.id,
            lead.campaign_id,
            node,
            agent_interface,
            now,
        )

    async def record_outcome(
        self, channel_id: str, outcome: DialOutcome, retry: RetryPolicy, now: datetime
    ) -> Lead | None:
        """Store how a dial went and schedule the lead's next attempt (or finish it); None if unknown."""
        async with self._transaction() as conn:
            lead_id = await conn.fetchval(
                """
                UPDATE dial_attempts SET outcome = $2,
                    answered_at = CASE WHEN $2 = 'answered' THEN $3::timestamptz END,
                    ended_at = CASE WHEN $2 = 'answered' THEN NULL ELSE $3::timestamptz END
                WHERE channel_id = $1 AND outcome IS NULL
                RETURNING lead_id
                """,
                channel_id,
                outcome.value,
                now,
            )
            if lead_id is None:
                return None
            attempts = await conn.fetchval(
                "UPDATE leads SET attempts = attempts + 1, last_outcome = $2 WHERE id = $1 RETURNING attempts",
                lead_id,
                outcome.value,
            )
            due = retry.next_attempt_at(outcome, attempts, now)
            # An answered lead stays reserved until the agent's disposition finishes it.
            if outcome is not DialOutcome.ANSWERED:
                await conn.execute(
                    """
                    UPDATE leads SET status = $2, next_attempt_at = $3, reserved_by = NULL, reserved_until = NULL
                    WHERE id = $1
                    """,
                    lead_id,
                    "done" if due is None else "retry",
                    due,
                )
            row = await conn.fetchrow(f"SELECT {_LEAD_COLUMNS} FROM leads WHERE id = $1", lead_id)
        assert row is not None
        return _lead(row)

    async def record_drop(self, channel_id: str, now: datetime) -> None:
        """An answered call found no agent in time: count it dropped and rest the number for 72 h."""
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                """
                UPDATE dial_attempts SET dropped = true, ended_at = $2 WHERE channel_id = $1
                RETURNING lead_id
                """,
                channel_id,
                now,
            )
            if row is None:
                return
            phone = await conn.fetchval(
                """
                UPDATE leads SET status = 'retry', next_attempt_at = $2, reserved_by = NULL, reserved_until = NULL
                WHERE id = $1 RETURNING phone
                """,
                row["lead_id"],
                now + DROP_SUPPRESSION,
            )
            await conn.execute(
                "INSERT INTO do_not_call (phone, campaign_id, until, reason) VALUES ($1, NULL, $2, 'dropped call')",
                phone,
                now + DROP_SUPPRESSION,
            )

    async def record_connected(self, channel_id: str, agent_interface: str) -> None:
        """An answered call reached an agent."""
        await self._db.execute(
            "UPDATE dial_attempts SET agent_interface = $2 WHERE channel_id = $1", channel_id, agent_interface
        )

    async def set_disposition(
        self, lead_id: int, disposition: str, note: str, retry_at: datetime | None, now: datetime
    ) -> Lead:
        """The agent's verdict on a call: finishes the lead, or reschedules it (`retry_at`)."""
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                f"""
                UPDATE leads SET disposition = $2, disposition_note = $3,
                    status = CASE WHEN $2 = 'do_not_call' THEN 'dnc' WHEN $4::timestamptz IS NULL THEN 'done'
                                  ELSE 'retry' END,
                    next_attempt_at = $4, reserved_by = NULL, reserved_until = NULL
                WHERE id = $1 RETURNING {_LEAD_COLUMNS}
                """,
                lead_id,
                disposition,
                note,
                retry_at,
            )
            if row is None:
                raise LeadNotFoundError(lead_id)
            await conn.execute(
                "UPDATE dial_attempts SET ended_at = coalesce(ended_at, $2) WHERE lead_id = $1", lead_id, now
            )
            if disposition == "do_not_call":
                await conn.execute(
                    "INSERT INTO do_not_call (phone, campaign_id, reason) VALUES ($1, $2, 'asked by the customer')",
                    row["phone"],
                    row["campaign_id"],
                )
        return _lead(row)

    async def add_do_not_call(self, phones: Sequence[str], campaign_id: int | None, reason: str) -> int:
        """Put numbers on a campaign's list (or the global list with None), for ever."""
        result = await self._db.execute(
            "INSERT INTO do_not_call (phone, campaign_id, reason) SELECT unnest($1::text[]), $2, $3",
            list(phones),
            campaign_id,
            reason,
        )
        return int(result.split()[-1])

    async def counts(self, campaign_id: int, now: datetime) -> CampaignCounts:
        """Dialled, answered and dropped over 24 hours and 30 days, and leads left to dial."""
        row = await self._db.fetchrow(
            """
            SELECT
              count(*) FILTER (WHERE dialled_at > $2::timestamptz - interval '24 hours') AS dialled_24h,
              count(*) FILTER (WHERE answered_at > $2::timestamptz - interval '24 hours') AS answered_24h,
              count(*) FILTER (WHERE dropped AND answered_at > $2::timestamptz - interval '24 hours') AS dropped_24h,
              count(*) FILTER (WHERE answered_at > $2::timestamptz - interval '30 days') AS answered_30d,
              count(*) FILTER (WHERE dropped AND answered_at > $2::timestamptz - interval '30 days') AS dropped_30d,
              (SELECT count(*) FROM leads WHERE campaign_id = $1) AS leads_total,
              (SELECT count(*) FROM leads WHERE campaign_id = $1 AND status IN ('new', 'retry', 'dialing'))
                AS leads_remaining
            FROM dial_attempts WHERE campaign_id = $1
            """,
            campaign_id,
            now,
        )
        assert row is not None
        return CampaignCounts(**dict(row))

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]]:
        """A connection in a transaction (a savepoint when the store runs inside one already)."""
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn, conn.transaction():
                yield conn
        else:
            async with self._db.transaction():
                yield self._db
