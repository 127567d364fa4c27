"""PostgreSQL plumbing: the asyncpg pool and the numbered SQL migrations."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

# Data has one owner: every table and the one package whose SQL reads and writes it. Another
# package asks the owner's service (foreign keys across packages are fine). tests/unit/
# test_table_owners.py reads every SQL statement of the code against this map.
TABLE_OWNERS: Mapping[str, str] = MappingProxyType(
    {
        "schema_migrations": "hotline",
        "agents": "agents",
        "agent_interfaces": "agents",
        "auth_tokens": "agents",
        "customers": "customers",
        "customer_phones": "customers",
        "interactions": "customers",
        "call_log": "cti",
        "ivr_visits": "cti",
        "agent_state_periods": "cti",
        "campaigns": "cti",
        "leads": "cti",
        "dial_attempts": "cti",
        "do_not_call": "cti",
        "callbacks": "cti",
        "tickets": "tickets",
        "ticket_events": "tickets",
        "ticket_notices": "tickets",
        "ticket_handlers": "tickets",
        "ticket_handler_loads": "tickets",
        "ticket_escalations": "tickets",
        "alerts": "tickets",
        "alert_deliveries": "tickets",
        "watched_customers": "tickets",
        "kb_articles": "knowledge_base",
    }
)

# Any fixed number works; it only has to be the same on every node that migrates.
_MIGRATION_LOCK_KEY = 0x686F746C696E65
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file under hotline/migrations."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with Hotline, in order."""
    found = []
    for entry in resources.files("hotline.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def migrate(conn: asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]) -> list[str]:
    """Apply the migrations this database lacks, each in its own transaction; return their names.

    An advisory lock makes concurrent start-ups of several nodes wait for each other.
    """
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    return applied


async def reachable(pool: asyncpg.Pool) -> bool:
    """Whether the database answers (the health check)."""
    return bool(await pool.fetchval("SELECT true"))


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset hook that does nothing (see create_pool)."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """Open the pool every store shares; each connection has a statement timeout."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=10,
        # Hotline leaves no session state on a connection (no SET, LISTEN or held locks), so the
        # default RESET ALL round trip on every release is pure latency on the screen-pop path.
        # asyncpg still rolls back a transaction left open.
        reset=_keep_session,
        # Idle connections stay open (at most max_size of them): closing them after a quiet spell
        # would cost a timer set on every release and cancelled on every acquire, per query.
        max_inactive_connection_lifetime=0,
        server_settings={"application_name": "hotline", "statement_timeout": "10000"},
    )
    if pool is None:
        raise RuntimeError("asyncpg returned no pool")
    return pool
