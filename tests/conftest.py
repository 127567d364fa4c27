"""Fixtures shared by every test layer: the throwaway PostgreSQL and the `eventually` helper."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hotline.db import migrate

pytest_plugins = ["tests.app_fixtures"]

# `make test` starts PostgreSQL here (scripts/test-services.sh); CI never skips a database test.
TEST_PG_URL = os.environ.get(
    "HOTLINE_TEST_DATABASE_URL",
    f"postgresql://hotline@127.0.0.1:{os.environ.get('HOTLINE_TEST_PG_PORT', '25432')}/postgres",
)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Wait until `check()` is true, polling the event loop; fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for servers that need it up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _create_migrated_database() -> str:
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(TEST_PG_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = TEST_PG_URL.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest.fixture(scope="session")
def migrated_database_url() -> str:
    """A fresh database with every migration applied, for tests that roll back what they do."""
    return asyncio.run(_create_migrated_database())


@pytest.fixture(scope="session")
def app_database_url() -> str:
    """A second fresh database for tests that run the whole application and commit for real."""
    return asyncio.run(_create_migrated_database())


@pytest.fixture
async def empty_database_url() -> AsyncIterator[str]:
    """A database with nothing in it: the demo migrates and seeds it as on a first `make run`."""
    name = f"hotline_demo_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(TEST_PG_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield TEST_PG_URL.rsplit("/", 1)[0] + "/" + name
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(migrated_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = await asyncpg.connect(migrated_database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()
