"""An aiohttp test client around the real application, on a real (emptied) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from hotline.app import build_web_app
from hotline.settings import load_settings
from web_agent.accounts import AccountService, Agent, Role
from web_agent.app import SERVICES

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TABLES = "auth_tokens, agent_interfaces, agents, call_log, interactions, customer_phones, customers"


@pytest.fixture
async def pool(migrated_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the shared test database, emptied first (web tests commit for real)."""
    pool = await asyncpg.create_pool(migrated_database_url, min_size=1, max_size=5)
    assert pool is not None
    await pool.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    yield pool
    await pool.close()


@dataclass
class Web:
    client: TestClient  # type: ignore[type-arg]
    pool: asyncpg.Pool
    accounts: AccountService

    async def agent(self, username: str, role: Role = Role.AGENT, interfaces: tuple[str, ...] = ()) -> Agent:
        return await self.accounts.create_agent(
            username=username,
            display_name=username.title(),
            password=f"{username}-password",
            role=role,
            interfaces=list(interfaces),
        )

    async def token(self, username: str) -> str:
        response = await self.client.post(
            "/api/auth/login", json={"username": username, "password": f"{username}-password"}
        )
        assert response.status == 200, await response.text()
        return str((await response.json())["token"])


@pytest.fixture
async def web(pool: asyncpg.Pool) -> AsyncIterator[Web]:
    """The whole web application with no PBX attached."""
    app = build_web_app(load_settings(None, {}), pool, ami=None, hasher=FAST_HASHER)
    accounts = app[SERVICES].accounts
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Web(client, pool, accounts)
    finally:
        await client.close()
