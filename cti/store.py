"""The call log in PostgreSQL (one row per queued call), the IVR visits and the agent-state periods."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from cti.agent_states import StatePeriod
from cti.events import CallEnded

Db = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class LoggedCall:
    """One row of the call log."""

    call_id: str
    caller_number: str
    caller_name: str
    customer_id: int | None
    customer_name: str | None
    customer_tier: str | None
    queue: str | None
    agent_interface: str | None
    outcome: str
    wait_s: int
    talk_s: int
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class CallCustomer:
    """Who the caller was when the call happened, as far as Hotline knew."""

    id: int
    name: str
    tier: str


def _ts(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class CallLogStore:
    """Writes and reads the call log."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def record(self, ended: CallEnded, customer: CallCustomer | None) -> None:
        """Store a finished call; recording the same call twice keeps the first row."""
        await self._db.execute(
            """
            INSERT INTO call_log (call_id, caller_number, caller_name, customer_id, customer_name,
                                  customer_tier, queue, agent_interface, outcome, hangup_cause,
                                  wait_s, talk_s, started_at, answered_at, ended_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (call_id) DO NOTHING
            """,
            ended.call_id,
            ended.caller_number,
            ended.caller_name,
            customer.id if customer else None,
            customer.name if customer else None,
            customer.tier if customer else None,
            ended.queue,
            ended.interface,
            ended.outcome.value,
            ended.cause,
            ended.wait_s,
            ended.talk_s,
            _ts(ended.started_at),
            _ts(ended.answered_at) if ended.answered_at is not None else None,
            _ts(ended.ended_at),
        )

    async def calls_for_interfaces(
        self, interfaces: Sequence[str], since: datetime, limit: int = 200
    ) -> list[LoggedCall]:
        """Calls answered on any of `interfaces` since `since`, newest first."""
        rows = await self._db.fetch(
            """
            SELECT call_id, caller_number, caller_name, customer_id, customer_name, customer_tier,
                   queue, agent_interface, outcome, wait_s, talk_s, started_at, ended_at
            FROM call_log
            WHERE agent_interface = ANY($1::text[]) AND ended_at >= $2
            ORDER BY ended_at DESC
            LIMIT $3
            """,
            list(interfaces),
            since,
            limit,
        )
        return [LoggedCall(**dict(row)) for row in rows]

    async def calls_since(self, customer_id: int, since: datetime) -> int:
        """How many calls of the customer ended at or after `since` (repeated-call alarms)."""
        count = await self._db.fetchval(
            "SELECT count(*) FROM call_log WHERE customer_id = $1 AND ended_at >= $2", customer_id, since
        )
        return int(count)


@dataclass(frozen=True, slots=True)
class IvrPathStep:
    """One IVR node a caller went through: what they keyed or said, and what came of it."""

    node: str
    action: str
    input: str
    result: str


class StepLike(Protocol):
    """One IVR node of a visit being stored."""

    @property
    def node(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def input(self) -> str: ...
    @property
    def result(self) -> str: ...


class VisitLike(Protocol):
    """A caller's way through the IVR as the IVR hands it over (its `IvrVisit`)."""

    @property
    def unique_id(self) -> str: ...
    @property
    def call_id(self) -> str: ...
    @property
    def caller_number(self) -> str: ...
    @property
    def caller_name(self) -> str: ...
    @property
    def customer_id(self) -> int | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime: ...
    @property
    def steps(self) -> Sequence[StepLike]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def queue_priority(self) -> int | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def article_id(self) -> int | None: ...
    @property
    def article_title(self) -> str | None: ...
    @property
    def callback_requested(self) -> bool: ...


@dataclass(frozen=True)
class IvrVisitRecord:
    """A caller's way through the IVR, kept with the call (Linkedid `call_id`)."""

    unique_id: str
    call_id: str
    caller_number: str
    caller_name: str
    customer_id: int | None
    started_at: datetime
    ended_at: datetime
    steps: tuple[IvrPathStep, ...]
    outcome: str
    queue: str | None
    queue_priority: int | None
    category: str | None
    article_id: int | None
    article_title: str | None
    callback_requested: bool


# How long after the IVR queued a caller their call may still be matched by number alone.
IVR_HAND_OFF_S = 600.0
_IVR_COLUMNS = """
    unique_id, call_id, caller_number, caller_name, customer_id, started_at, ended_at, steps, outcome,
    queue, queue_priority, category, article_id, article_title, callback_requested
"""


class IvrVisitStore:
    """Writes and reads the IVR visits."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def record(self, visit: VisitLike) -> None:
        """Store one visit; the same AGI session recorded twice keeps the first row."""
        steps = [
            {"node": s.node, "action": s.action, "input": s.input, "result": s.result} for s in visit.steps
        ]
        await self._db.execute(
            f"""
            INSERT INTO ivr_visits ({_IVR_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (unique_id) DO NOTHING
            """,
            visit.unique_id,
            visit.call_id,
            visit.caller_number,
            visit.caller_name,
            visit.customer_id,
            visit.started_at,
            visit.ended_at,
            json.dumps(steps),
            visit.outcome,
            visit.queue,
            visit.queue_priority,
            visit.category,
            visit.article_id,
            visit.article_title,
            visit.callback_requested,
        )

    async def latest_for_call(
        self, call_id: str, caller_number: str, *, within_s: float = IVR_HAND_OFF_S
    ) -> IvrVisitRecord | None:
        """The call's IVR visit (same Linkedid); else this caller's visit that just went to a queue.

        The fallback covers PBXs where the IVR leg and the queue leg do not share a Linkedid
        (a transfer, a second trunk hop): a caller queued by the IVR moments ago is this caller.
        """
        row = await self._db.fetchrow(
            f"""
            SELECT {_IVR_COLUMNS} FROM ivr_visits
            WHERE call_id = $1
               OR ($2 <> '' AND caller_number = $2 AND outcome = 'queued'
                   AND ended_at > now() - make_interval(secs => $3))
            ORDER BY call_id = $1 DESC, ended_at DESC
            LIMIT 1
            """,
            call_id,
            caller_number,
            within_s,
        )
        if row is None:
            return None
        values = dict(row)
        values["steps"] = tuple(IvrPathStep(**step) for step in json.loads(values["steps"]))
        return IvrVisitRecord(**values)


@dataclass(frozen=True)
class StateTotal:
    """Seconds an interface spent in one state (and reason) over a report's span."""

    interface: str
    state: str
    reason: str
    seconds: float


class AgentStateStore:
    """Writes the closed agent-state periods and sums them for the time-in-state reports."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def record_periods(self, periods: Sequence[StatePeriod]) -> None:
        """Store closed periods (one batch, one round trip)."""
        await self._db.executemany(
            "INSERT INTO agent_state_periods (interface, state, reason, started_at, ended_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(p.interface, p.presence.value, p.reason, _ts(p.started_at), _ts(p.ended_at)) for p in periods],
        )

    async def totals(self, since: datetime, until: datetime) -> list[StateTotal]:
        """Seconds per interface, state and reason of the periods overlapping [since, until)."""
        rows = await self._db.fetch(
            """
            SELECT interface, state, reason,
                   sum(extract(epoch FROM least(ended_at, $2) - greatest(started_at, $1)))::float8 AS seconds
            FROM agent_state_periods
            WHERE ended_at > $1 AND started_at < $2
            GROUP BY interface, state, reason
            ORDER BY interface, state, reason
            """,
            since,
            until,
        )
        return [StateTotal(**dict(row)) for row in rows]
