"""Service reports on a real PostgreSQL over known tickets (days in the call center's time zone)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tickets.report_store import ReportStore

pytestmark = pytest.mark.db
TZ = "Asia/Ho_Chi_Minh"
HCM = ZoneInfo(TZ)
SINCE = datetime(2026, 12, 1, tzinfo=HCM)
UNTIL = datetime(2026, 12, 4, tzinfo=HCM)
HOUR = timedelta(hours=1)


async def _agent(pool: asyncpg.Pool, username: str) -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO agents (username, display_name, password_hash, role) VALUES ($1, $2, 'x', 'agent')"
            " RETURNING id",
            username,
            username.title(),
        )
    )


async def _ticket(
    pool: asyncpg.Pool,
    *,
    category: str,
    channel: str,
    tier: str,
    created: datetime,
    assignee: int,
    status: str = "assigned",
    responded_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
    reopens: int = 0,
) -> None:
    await pool.execute(
        """
        INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_tier,
                             tier_rank, top_tier, created_at, updated_at, assignee_id, first_responded_at,
                             resolved_at, reopen_count)
        VALUES ($1, 'Known', $2, $3, 'normal', 1, $4, 0, false, $5, $5, $6, $7, $8, $9)
        """,
        status,
        category,
        channel,
        tier,
        created,
        assignee,
        None if responded_after is None else created + responded_after,
        None if resolved_after is None else created + resolved_after,
        reopens,
    )


async def seed_known_tickets(pool: asyncpg.Pool, handlers: tuple[int, int] | None = None) -> tuple[int, int]:
    """Five tickets: four in 1-3 December 2026 (Ho Chi Minh City), one the evening before.

    Handled by `handlers` (two agent ids), or by new agents anna and ben.
    """
    anna, ben = handlers or (await _agent(pool, "anna"), await _agent(pool, "ben"))
    local = HCM
    await _ticket(
        pool,
        category="billing",
        channel="phone",
        tier="gold",
        created=datetime(2026, 12, 1, 9, 0, tzinfo=local),
        assignee=anna,
        status="resolved",
        responded_after=HOUR,
        resolved_after=4 * HOUR,
    )
    # Late on the 1st, resolved, then reopened by the customer: back in progress.
    await _ticket(
        pool,
        category="billing",
        channel="portal",
        tier="standard",
        created=datetime(2026, 12, 1, 23, 30, tzinfo=local),
        assignee=anna,
        status="in_progress",
        responded_after=HOUR / 2,
        reopens=1,
    )
    # 00:30 on the 2nd locally is still the 1st in UTC: it counts on the 2nd.
    await _ticket(
        pool,
        category="technical",
        channel="phone",
        tier="vip",
        created=datetime(2026, 12, 2, 0, 30, tzinfo=local),
        assignee=ben,
    )
    await _ticket(
        pool,
        category="technical",
        channel="email",
        tier="standard",
        created=datetime(2026, 12, 3, 10, 0, tzinfo=local),
        assignee=ben,
        status="resolved",
        responded_after=2 * HOUR,
        resolved_after=10 * HOUR,
    )
    # Before the period: only in anna's open workload.
    await _ticket(
        pool,
        category="billing",
        channel="phone",
        tier="standard",
        created=datetime(2026, 11, 30, 23, 0, tzinfo=local),
        assignee=anna,
    )
    return anna, ben


async def test_volume_per_local_day_category_and_channel(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        await seed_known_tickets(pool)
        volume = await ReportStore(pool).volume(SINCE, UNTIL, TZ)
        assert volume.by_day == ((date(2026, 12, 1), 2), (date(2026, 12, 2), 1), (date(2026, 12, 3), 1))
        assert volume.by_category == (("billing", 2), ("technical", 2))
        assert volume.by_channel == (("phone", 2), ("email", 1), ("portal", 1))
        # The same instants in UTC days: the ticket of 00:30 local moves to the 1st.
        utc = await ReportStore(pool).volume(SINCE, UNTIL, "UTC")
        assert utc.by_day == ((date(2026, 12, 1), 3), (date(2026, 12, 3), 1))


async def test_workload_per_handler(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        anna, ben = await seed_known_tickets(pool)
        rows = await ReportStore(pool).workload(SINCE, UNTIL)
        assert [(r.agent_id, r.open_now, r.resolved, r.avg_handling_s) for r in rows] == [
            (anna, 2, 1, 4 * 3600.0),
            (ben, 1, 1, 10 * 3600.0),
        ]


async def test_service_times_and_reopen_rate_per_category(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        await seed_known_tickets(pool)
        billing, technical = await ReportStore(pool).service_times(SINCE, UNTIL)
        assert (billing.category, billing.tickets, billing.responded, billing.avg_first_response_s) == (
            "billing",
            2,
            2,
            2700.0,
        )
        assert (billing.resolved, billing.avg_resolution_s, billing.reopened, billing.reopen_rate) == (
            2,
            4 * 3600.0,
            1,
            0.5,
        )
        assert (technical.tickets, technical.responded, technical.avg_first_response_s) == (2, 1, 7200.0)
        assert (technical.resolved, technical.avg_resolution_s, technical.reopen_rate) == (1, 36000.0, 0.0)


async def test_distribution_by_category_and_tier(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        await seed_known_tickets(pool)
        shares = await ReportStore(pool).distribution(SINCE, UNTIL)
        assert [(s.category, s.tier, s.tickets) for s in shares] == [
            ("billing", "gold", 1),
            ("billing", "standard", 1),
            ("technical", "standard", 1),
            ("technical", "vip", 1),
        ]


async def test_an_empty_period_gives_empty_reports(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        await seed_known_tickets(pool)
        store = ReportStore(pool)
        since = datetime(2025, 1, 1, tzinfo=UTC)
        until = since + timedelta(days=1)
        assert (await store.volume(since, until, TZ)).by_day == ()
        assert await store.service_times(since, until) == []
        assert await store.distribution(since, until) == []
