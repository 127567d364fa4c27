"""Service reports over tickets, for supervisors: volume, workload, service times and distribution.

Each report is one statement over a period `[since, until)`. Intake reports read tickets by
`created_at` (index tickets_created), resolution reports by `resolved_at` (tickets_resolved),
and open workload comes from tickets_open_by_assignee. Days are calendar days in the call
center's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class Volume:
    """Tickets taken in per day, per category and per channel."""

    by_day: tuple[tuple[date, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_channel: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Workload:
    """One handler's load: open now, resolved in the period, and the average intake-to-resolution time."""

    agent_id: int
    open_now: int
    resolved: int
    avg_handling_s: float | None


@dataclass(frozen=True, slots=True)
class ServiceTimes:
    """One service (category) over the tickets taken in during the period."""

    category: str
    tickets: int
    responded: int
    avg_first_response_s: float | None
    resolved: int
    avg_resolution_s: float | None
    reopened: int

    @property
    def reopen_rate(self) -> float | None:
        """Share of the resolved tickets the customer reopened at least once."""
        return self.reopened / self.resolved if self.resolved else None


@dataclass(frozen=True, slots=True)
class Share:
    """How many tickets of one category came from customers of one tier."""

    category: str
    tier: str
    tickets: int


_VOLUME = """
    SELECT (created_at AT TIME ZONE $3)::date AS day, category, channel, count(*) AS tickets,
           GROUPING(category) AS no_category, GROUPING(channel) AS no_channel
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY GROUPING SETS (((created_at AT TIME ZONE $3)::date), (category), (channel))
"""

_WORKLOAD = """
    WITH open AS (
        SELECT assignee_id, count(*) AS open_now FROM tickets
        WHERE status NOT IN ('resolved', 'closed') AND assignee_id IS NOT NULL
        GROUP BY assignee_id
    ), done AS (
        SELECT assignee_id, count(*) AS resolved,
               avg(EXTRACT(EPOCH FROM resolved_at - created_at))::float8 AS avg_handling_s
        FROM tickets
        WHERE resolved_at >= $1 AND resolved_at < $2 AND assignee_id IS NOT NULL
        GROUP BY assignee_id
    )
    SELECT COALESCE(o.assignee_id, d.assignee_id) AS agent_id, COALESCE(o.open_now, 0) AS open_now,
           COALESCE(d.resolved, 0) AS resolved, d.avg_handling_s
    FROM open o FULL JOIN done d ON d.assignee_id = o.assignee_id
    ORDER BY open_now DESC, resolved DESC, agent_id
"""

# A ticket counts as resolved once it was (resolved_at is set, or it was reopened after one).
_SERVICE_TIMES = """
    SELECT category, count(*) AS tickets,
           count(first_responded_at) AS responded,
           avg(EXTRACT(EPOCH FROM first_responded_at - created_at))::float8 AS avg_first_response_s,
           count(*) FILTER (WHERE resolved_at IS NOT NULL OR reopen_count > 0) AS resolved,
           avg(EXTRACT(EPOCH FROM resolved_at - created_at))::float8 AS avg_resolution_s,
           count(*) FILTER (WHERE reopen_count > 0) AS reopened
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY category
    ORDER BY tickets DESC, category
"""

_DISTRIBUTION = """
    SELECT category, customer_tier AS tier, count(*) AS tickets
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY category, customer_tier
    ORDER BY category, tickets DESC, customer_tier
"""


class ReportStore:
    """Reads the service reports from the tickets tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def volume(self, since: datetime, until: datetime, timezone: str) -> Volume:
        """Tickets taken in during the period, per local day, category and channel."""
        rows = await self._pool.fetch(_VOLUME, since, until, timezone)
        by_day = sorted((r["day"], r["tickets"]) for r in rows if r["no_category"] and r["no_channel"])
        by_category = sorted(
            ((r["category"], r["tickets"]) for r in rows if not r["no_category"]), key=lambda p: (-p[1], p[0])
        )
        by_channel = sorted(
            ((r["channel"], r["tickets"]) for r in rows if not r["no_channel"]), key=lambda p: (-p[1], p[0])
        )
        return Volume(tuple(by_day), tuple(by_category), tuple(by_channel))

    async def workload(self, since: datetime, until: datetime) -> list[Workload]:
        """Every handler with open tickets now or resolutions in the period."""
        return [Workload(**dict(r)) for r in await self._pool.fetch(_WORKLOAD, since, until)]

    async def service_times(self, since: datetime, until: datetime) -> list[ServiceTimes]:
        """Response and resolution times and reopens per category, over tickets taken in during the period."""
        return [ServiceTimes(**dict(r)) for r in await self._pool.fetch(_SERVICE_TIMES, since, until)]

    async def distribution(self, since: datetime, until: datetime) -> list[Share]:
        """Tickets taken in during the period per category and customer tier."""
        return [Share(**dict(r)) for r in await self._pool.fetch(_DISTRIBUTION, since, until)]
