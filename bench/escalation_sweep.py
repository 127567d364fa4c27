"""Escalation sweep: time per sweep over many open tickets with a few due, against a naive scan.

The tickets table holds `--tickets` open tickets (default 1,000,000), loaded with
generate_series (not timed); `--due-share` of them (default 1%) have a step due now (80% of the
first-response time used: one warning each; with `--breached`, both deadlines passed an hour
ago: two breaches and the team lead, three alarms each), the rest are due later. The sweep is the production one (`EscalationSweeper.run_once`
with config/escalation.toml and the SLA policy of config/): it claims due rows through the
partial index on ticket_escalations.check_at (lease + SKIP LOCKED), evaluates them, and stores
the alarms that came due with their deliveries. Before each round the due tickets are put back
as they were and the alarms of the previous round deleted (not timed). Baseline, in the same
run on the same database: the naive sweep, which reads every open ticket (a server-side cursor
over the tickets table joined with its escalation state) and evaluates each with the same rules
to find the due ones, storing nothing. Target: < 1 s per sweep.

Run: `.venv/bin/python bench/escalation_sweep.py [--tickets 1000000] [--due-share 0.01]
[--rounds 5] [--database-url postgresql://…]`. The database is got as bench/tickets.py gets it:
the URL given (a superuser's; a scratch database is created and dropped), else
$HOTLINE_BENCH_DATABASE_URL, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

# With only bench/ in front, `import tickets` would find bench/tickets.py instead of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from harness import cpu_model
from rig import DATABASE_URL_ENV, embedded_database, scratch_database

from agents import AccountService
from agents.store import AccountStore
from hotline.db import create_pool, migrate
from hotline.settings import load_settings
from tickets.alarms import DeliveryPlan, EscalationSweeper
from tickets.escalation import EscalationPolicy, EscalationState, TicketClock, evaluate
from tickets.escalation_store import EscalationStore
from tickets.model import Priority, TicketStatus

# A Tuesday, 10:00 in Ho Chi Minh City: inside business hours, so the team lead is told too.
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
LOAD_TIMEOUT_S = 1800


class NullSink:
    """The bus: events are counted, not delivered."""

    def __init__(self) -> None:
        self.count = 0

    def publish(self, event: object) -> None:
        """Count one event."""
        self.count += 1


async def load(pool: asyncpg.Pool, tickets: int, due: int, *, breached: bool) -> None:
    """`tickets` open tickets; the first `due` have a step due now (or, `breached`, both deadlines passed)."""
    # Due: 80% of the first-response time used (opened 08:10 local, due 10:10; the warning came at 09:46).
    # Breached: both deadlines passed an hour ago, so two breaches and the team lead are due at once.
    hour, minute = timedelta(hours=1), timedelta(minutes=1)
    opened, first, resolution = (
        (2 * hour, -hour, -hour) if breached else (110 * minute, 10 * minute, 120 * hour)
    )
    async with pool.acquire() as conn, conn.transaction():
        # The pool's 10 s statement timeout is for the service; loading a million rows on a busy
        # machine may take longer.
        await conn.execute("SET LOCAL statement_timeout = 0")
        # The trigger would make every new ticket due at once; the bench sets check_at itself.
        await conn.execute("ALTER TABLE tickets DISABLE TRIGGER tickets_escalation_opened")
        await conn.execute(
            """
            INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_tier,
                                 tier_rank, top_tier, department, created_at, updated_at,
                                 first_response_due, resolution_due)
            SELECT 'assigned', 'Ticket ' || n, 'billing', 'phone', 'normal', 1, 'standard', 0, false, 'support',
                   $3::timestamptz - CASE WHEN n <= $2 THEN $4::interval ELSE interval '10 minutes' END,
                   $3::timestamptz - interval '10 minutes',
                   $3::timestamptz + CASE WHEN n <= $2 THEN $5::interval ELSE interval '4 hours' END,
                   $3::timestamptz + CASE WHEN n <= $2 THEN $6::interval ELSE interval '5 days' END
            FROM generate_series(1, $1) AS n
            """,
            tickets,
            due,
            NOW,
            opened,
            first,
            resolution,
            timeout=LOAD_TIMEOUT_S,
        )
        await conn.execute("ALTER TABLE tickets ENABLE TRIGGER tickets_escalation_opened")
        # As the sweep leaves them: the due ones now, the others at their next step (a warning, later).
        await conn.execute(
            """
            INSERT INTO ticket_escalations (ticket_id, check_at)
            SELECT id, CASE WHEN id <= $1 THEN $2::timestamptz - interval '1 minute'
                            ELSE $2::timestamptz + interval '3 hours' END
            FROM tickets
            """,
            due,
            NOW,
            timeout=LOAD_TIMEOUT_S,
        )
    async with pool.acquire() as conn:
        # Vacuumed now, so autovacuum of the freshly loaded million rows (and the first reads
        # setting their hint bits) does not run during the timed sweeps.
        await conn.execute("SET statement_timeout = 0")
        await conn.execute("VACUUM ANALYZE tickets, ticket_escalations", timeout=LOAD_TIMEOUT_S)
        await conn.execute("RESET statement_timeout")


async def reset(pool: asyncpg.Pool, due: int) -> None:
    """Put the due tickets back as they were before the sweep (not timed)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("TRUNCATE alert_deliveries, alerts")
        await conn.execute(
            """
            UPDATE ticket_escalations SET check_at = $2::timestamptz - interval '1 minute', level = 0, level_at = NULL,
                                          breached_at = NULL
            WHERE ticket_id <= $1
            """,
            due,
            NOW,
        )
    await pool.execute("VACUUM ANALYZE ticket_escalations")
    # The load's and the last round's dirty pages are written now, not during the timed sweep.
    await pool.execute("CHECKPOINT")


async def naive_sweep(pool: asyncpg.Pool, policy: EscalationPolicy) -> tuple[int, int]:
    """Read every open ticket and evaluate it; return (tickets read, tickets with something due)."""
    read = due = 0
    async with pool.acquire() as conn, conn.transaction():
        async for row in conn.cursor(
            """
            SELECT t.id, t.subject, t.status, t.priority, t.customer_tier, t.top_tier, t.department, t.assignee_id,
                   t.customer_id, t.customer_name, t.created_at, t.first_response_due, t.resolution_due,
                   t.first_responded_at, t.sla_paused_at, e.level, e.level_at, e.breached_at, e.acknowledged_at,
                   e.snoozed_until
            FROM tickets t LEFT JOIN ticket_escalations e ON e.ticket_id = t.id
            WHERE t.status NOT IN ('resolved', 'closed')
            """,
            prefetch=10_000,
        ):
            read += 1
            ticket = TicketClock(
                row["id"],
                row["subject"],
                TicketStatus(row["status"]),
                Priority(row["priority"]),
                row["customer_tier"],
                row["top_tier"],
                row["department"],
                row["assignee_id"],
                row["customer_id"],
                row["customer_name"],
                row["created_at"],
                row["first_response_due"],
                row["resolution_due"],
                row["first_responded_at"],
                row["sla_paused_at"],
            )
            state = EscalationState(
                row["level"] or 0,
                row["level_at"],
                row["breached_at"],
                row["acknowledged_at"],
                row["snoozed_until"],
            )
            if evaluate(policy, ticket, state, NOW).alarms:
                due += 1
    return read, due


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    """A scratch database on the given server, or an embedded PostgreSQL."""
    if url:
        async with scratch_database(url) as scratch:
            yield scratch
    else:
        async with embedded_database() as embedded:
            yield embedded


async def main() -> None:
    """Load, sweep `--rounds` times, scan naively, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--breached", action="store_true", help="every due ticket past both deadlines (three alarms each)"
    )
    parser.add_argument("--database-url", default=os.environ.get(DATABASE_URL_ENV))
    args = parser.parse_args()
    due = round(args.tickets * args.due_share)
    settings = load_settings(None, {})
    policy = settings.alarms.policy
    async with database(args.database_url) as url:
        pool = await create_pool(url)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            started = time.perf_counter()
            async with asyncio.timeout(LOAD_TIMEOUT_S):
                await load(pool, args.tickets, due, breached=args.breached)
            print(
                f"loaded {args.tickets:,} open tickets ({due:,} due) in {time.perf_counter() - started:.1f} s"
            )
            sweep_s: list[float] = []
            looked = alerts = 0
            for _ in range(args.rounds):
                await reset(pool, due)
                sink = NullSink()
                sweeper = EscalationSweeper(
                    EscalationStore(pool),
                    policy,
                    DeliveryPlan(email=True),
                    lambda: NOW,
                    sink,
                    agents=AccountService(AccountStore(pool), token_ttl_s=3600),
                )
                started = time.perf_counter()
                looked = await sweeper.run_once()
                sweep_s.append(time.perf_counter() - started)
                alerts = int(await pool.fetchval("SELECT count(*) FROM alerts"))
                print(f"sweep: {looked:,} tickets looked at, {alerts:,} alerts stored in {sweep_s[-1]:.3f} s")
            await reset(pool, due)
            started = time.perf_counter()
            read, found = await naive_sweep(pool, policy)
            naive_s = time.perf_counter() - started
            print(f"naive scan: {read:,} tickets read, {found:,} with something due in {naive_s:.3f} s")
        finally:
            await pool.close()
    best, median = min(sweep_s), statistics.median(sweep_s)
    print()
    print(
        f"<!-- {datetime.now(UTC):%Y-%m-%d}; {args.tickets:,} open tickets, {due:,} due "
        f"({'both deadlines passed' if args.breached else 'first-response warning'}); best and median of "
        f"{args.rounds} sweeps, one naive scan; nproc {os.cpu_count()}, {cpu_model()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()} -->"
    )
    print("| figure | Hotline sweep (due index, claim + store) | naive scan (every open ticket) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| time per sweep, best | {best:.3f} s | {naive_s:.3f} s | **{naive_s / best:.0f}× faster** |")
    print(
        f"| time per sweep, median | {median:.3f} s | {naive_s:.3f} s | **{naive_s / median:.0f}× faster** |"
    )
    print(f"| tickets read | {looked:,} | {read:,} | – |")
    print(f"| due tickets found | {looked:,} | {found:,} | – |")
    print(f"| alerts stored (with deliveries) | {alerts:,} | 0 (finds only) | – |")
    print(f"\ntarget (< 1 s per sweep): {'met' if median < 1 else 'not met'} (median {median:.3f} s)")


if __name__ == "__main__":
    asyncio.run(main())
