"""Service reports over a large tickets table: the indexed report queries against naive ones.

The tickets table is filled with `--tickets` tickets (default 1,000,000) spread over two years
(one INSERT … SELECT FROM generate_series, then VACUUM ANALYZE, not timed): five categories, five channels, three
tiers, twenty handlers, most answered and resolved, one in twenty reopened, 2% still open. Then
each of the four reports of /api/reports/… is run for a `--days` period (default 30 days, the
page's default) through `tickets.report_store.ReportStore`, against a naive query in the same
run on the same table: the same aggregation, the period written as "the ticket's local day is
between the first and the last day" (`(created_at AT TIME ZONE tz)::date BETWEEN …`), which no
index can serve, so every ticket is read. Both must give the same rows. Each runs `--rounds`
times, alternating; the median is reported.

Run: `.venv/bin/python bench/reports.py [--tickets 1000000] [--days 30] [--rounds 7]
[--database-url postgresql://…]`. The database comes from bench/rig.py:
the URL given (a superuser's; a scratch database is created and dropped), else
$HOTLINE_BENCH_DATABASE_URL, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# This file is bench/reports.py: keep the repository root first so `import tickets` is the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from harness import cpu_model
from rig import DATABASE_URL_ENV, embedded_database, scratch_database

from hotline.db import create_pool, migrate
from tickets.report_store import ReportStore, Volume

TZ = "Asia/Ho_Chi_Minh"
SEED_TIMEOUT_S = 1800
HANDLERS = 20

_SEED_AGENTS = """
    INSERT INTO agents (username, display_name, password_hash, role)
    SELECT 'bench' || n, 'Bench ' || n, 'x', 'agent' FROM generate_series(1, $1) AS n
"""
# Two years of tickets ending at $2; $3 handlers' ids start at $4.
_SEED_TICKETS = """
    INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_tier, tier_rank,
                         top_tier, created_at, updated_at, assignee_id, first_responded_at, resolved_at,
                         reopen_count)
    SELECT CASE WHEN n % 50 = 0 THEN 'assigned' ELSE 'closed' END, 'Bench ticket',
           (ARRAY['billing', 'technical', 'account', 'delivery', 'other'])[1 + n % 5],
           (ARRAY['phone', 'portal', 'ivr', 'email', 'api'])[1 + (n / 5) % 5],
           'normal', 1,
           (ARRAY['standard', 'standard', 'gold', 'standard', 'vip'])[1 + (n / 25) % 5], 0, false,
           at, at, $4 + (n / 7) % $3,
           CASE WHEN n % 10 <> 0 THEN at + make_interval(mins => 5 + n % 240) END,
           CASE WHEN n % 50 <> 0 THEN at + make_interval(hours => 1 + n % 48) END,
           CASE WHEN n % 20 = 0 THEN 1 ELSE 0 END
    FROM generate_series(1, $1) AS n,
         LATERAL (SELECT $2::timestamptz - make_interval(secs => (n::bigint * 7919) % (2 * 365 * 86400)) AS at) t
"""

# The naive queries: the same reports, with the period as a local-day range on every row.
_LOCAL_DAY = "(created_at AT TIME ZONE $3)::date BETWEEN $1 AND $2"
_NAIVE = {
    "volume": f"""
        SELECT (created_at AT TIME ZONE $3)::date AS day, category, channel, count(*) AS tickets,
               GROUPING(category) AS no_category, GROUPING(channel) AS no_channel
        FROM tickets WHERE {_LOCAL_DAY}
        GROUP BY GROUPING SETS (((created_at AT TIME ZONE $3)::date), (category), (channel))
    """,
    "workload": """
        WITH open AS (
            SELECT assignee_id, count(*) AS open_now FROM tickets
            WHERE status NOT IN ('resolved', 'closed') AND assignee_id IS NOT NULL GROUP BY assignee_id
        ), done AS (
            SELECT assignee_id, count(*) AS resolved,
                   avg(EXTRACT(EPOCH FROM resolved_at - created_at))::float8 AS avg_handling_s
            FROM tickets
            WHERE (resolved_at AT TIME ZONE $3)::date BETWEEN $1 AND $2 AND assignee_id IS NOT NULL
            GROUP BY assignee_id
        )
        SELECT COALESCE(o.assignee_id, d.assignee_id) AS agent_id, COALESCE(o.open_now, 0) AS open_now,
               COALESCE(d.resolved, 0) AS resolved, d.avg_handling_s
        FROM open o FULL JOIN done d ON d.assignee_id = o.assignee_id
        ORDER BY open_now DESC, resolved DESC, agent_id
    """,
    "service_times": f"""
        SELECT category, count(*) AS tickets, count(first_responded_at) AS responded,
               avg(EXTRACT(EPOCH FROM first_responded_at - created_at))::float8 AS avg_first_response_s,
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR reopen_count > 0) AS resolved,
               avg(EXTRACT(EPOCH FROM resolved_at - created_at))::float8 AS avg_resolution_s,
               count(*) FILTER (WHERE reopen_count > 0) AS reopened
        FROM tickets WHERE {_LOCAL_DAY} GROUP BY category ORDER BY tickets DESC, category
    """,
    "distribution": f"""
        SELECT category, customer_tier AS tier, count(*) AS tickets
        FROM tickets WHERE {_LOCAL_DAY}
        GROUP BY category, customer_tier ORDER BY category, tickets DESC, customer_tier
    """,
}


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


def _plain(values: Any) -> tuple[Any, ...]:
    # Floats rounded: the two plans may add up in another order.
    return tuple(round(v, 3) if isinstance(v, float) else v for v in values)


def _indexed_rows(result: Any) -> list[tuple[Any, ...]]:
    """The rows of a ReportStore result, as comparable tuples."""
    if isinstance(result, Volume):
        return _flat_volume(result.by_day, result.by_category, result.by_channel)
    return [_plain(getattr(row, name) for name in row.__dataclass_fields__) for row in result]


def _naive_rows(name: str, rows: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    """The rows of a naive query, shaped as the ReportStore's."""
    if name != "volume":
        return [_plain(row.values()) for row in rows]
    return _flat_volume(
        sorted((r["day"], r["tickets"]) for r in rows if r["no_category"] and r["no_channel"]),
        sorted(
            ((r["category"], r["tickets"]) for r in rows if not r["no_category"]), key=lambda p: (-p[1], p[0])
        ),
        sorted(
            ((r["channel"], r["tickets"]) for r in rows if not r["no_channel"]), key=lambda p: (-p[1], p[0])
        ),
    )


def _flat_volume(*parts: Any) -> list[tuple[Any, ...]]:
    return [
        (kind, *row) for kind, rows in zip(("day", "category", "channel"), parts, strict=True) for row in rows
    ]


async def run(tickets: int, days: int, rounds: int, database_url: str | None) -> list[str]:
    """Seed, then time each report both ways; return the RESULTS.md lines."""
    database = embedded_database() if database_url is None else scratch_database(database_url)
    async with database as url:
        pool = await create_pool(url)
        try:
            # Seeded on a connection of its own: the pool's statement timeout is for requests.
            async with asyncio.timeout(SEED_TIMEOUT_S):
                conn = await asyncpg.connect(url)
                try:
                    await migrate(conn)
                    await conn.execute(_SEED_AGENTS, HANDLERS)
                    first_agent = await conn.fetchval("SELECT min(id) FROM agents")
                    tz = ZoneInfo(TZ)
                    today = datetime.now(tz).date()
                    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
                    started = time.perf_counter()
                    await conn.execute(_SEED_TICKETS, tickets, end, HANDLERS, first_agent)
                    # As autovacuum keeps a table in service: the visibility map lets the open
                    # workload be counted from tickets_open_by_assignee alone.
                    await conn.execute("VACUUM ANALYZE tickets")
                    print(
                        f"seeded {tickets:,} tickets in {time.perf_counter() - started:.1f} s",
                        file=sys.stderr,
                    )
                finally:
                    await conn.close()
            first: date = today - timedelta(days=days - 1)
            since = datetime.combine(first, datetime.min.time(), tz)
            until = end
            store = ReportStore(pool)
            indexed: dict[str, Callable[[], Awaitable[Any]]] = {
                "volume": lambda: store.volume(since, until, TZ),
                "workload": lambda: store.workload(since, until),
                "service_times": lambda: store.service_times(since, until),
                "distribution": lambda: store.distribution(since, until),
            }
            lines = []
            for name, report in indexed.items():
                fast: list[float] = []
                slow: list[float] = []
                for _ in range(rounds):
                    seconds, result = await _timed(report)
                    fast.append(seconds)
                    seconds, naive = await _timed(
                        lambda name=name: pool.fetch(_NAIVE[name], first, today, TZ)
                    )
                    slow.append(seconds)
                if _indexed_rows(result) != _naive_rows(name, naive):
                    raise SystemExit(f"the {name} report and its naive query disagree")
                f_ms, s_ms = statistics.median(fast) * 1000, statistics.median(slow) * 1000
                lines.append(
                    f"| {name.replace('_', '-')} | {f_ms:,.1f} | {s_ms:,.1f} | {s_ms / f_ms:,.1f}× |"
                )
            in_period = await pool.fetchval(
                "SELECT count(*) FROM tickets WHERE created_at >= $1 AND created_at < $2", since, until
            )
        finally:
            await pool.close()
    header = [
        f"<!-- {date.today().isoformat()}; {tickets:,} tickets over two years, {in_period:,} in the {days}-day period; "
        f"median of {rounds} rounds; {cpu_model()}, Python {platform.python_version()} -->",
        "| report | indexed (ms) | naive full scan (ms) | naive / indexed |",
        "|---|---:|---:|---:|",
    ]
    return header + lines


def main() -> int:
    """Parse the arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_URL_ENV),
        help=f"PostgreSQL superuser URL (default ${DATABASE_URL_ENV}, else an embedded PostgreSQL)",
    )
    args = parser.parse_args()
    print("\n".join(asyncio.run(run(args.tickets, args.days, args.rounds, args.database_url))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
