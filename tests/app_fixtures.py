"""Fixtures that run the real application: on a real (emptied) PostgreSQL, with or without the PBX simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from argon2 import PasswordHasher

from agents import AccountService, Agent, Role
from cti.ami_client import AmiSettings
from cti.simulator import PbxSimulator, SimulatorSettings
from hotline.app import build_web_app
from hotline.settings import load_settings
from knowledge_base.model import Article, ArticleDraft
from knowledge_base.service import Editor
from tests.api_contract import CheckedClient
from tests.conftest import eventually
from web_agent.app import SERVICES
from web_agent.kb_api import KNOWLEDGE_BASE

ALICE, BOB = "Local/1001@agents", "Local/1002@agents"

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TABLES = (
    "kb_articles, callbacks, alert_deliveries, alerts, watched_customers, ticket_escalations, "
    "ticket_notices, ticket_events, tickets, ticket_handler_loads, ticket_handlers, agent_state_periods, "
    "do_not_call, dial_attempts, leads, campaigns, "
    "auth_tokens, agent_interfaces, agents, ivr_visits, call_log, interactions, customer_phones, customers"
)


@pytest.fixture
async def pool(app_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the application test database, emptied first (these tests commit for real)."""
    pool = await asyncpg.create_pool(app_database_url, min_size=1, max_size=5)
    assert pool is not None
    await pool.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    yield pool
    await pool.close()


@dataclass
class Web:
    """The running application (no PBX), its database and its account service."""

    client: CheckedClient
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
    client = CheckedClient(TestServer(app))
    await client.start_server()
    try:
        yield Web(client, pool, accounts)
    finally:
        await client.close()


@dataclass
class Desk:
    """The running application, the simulator that feeds it, and its database."""

    client: CheckedClient
    simulator: PbxSimulator
    pool: asyncpg.Pool
    app: Application | None = None

    async def socket(self, username: str) -> ClientWebSocketResponse:
        login = await self.client.post(
            "/api/auth/login", json={"username": username, "password": f"{username}-password"}
        )
        token = (await login.json())["token"]
        ws = await self.client.ws_connect(f"/ws?token={token}")
        assert (await ws.receive_json())["op"] == "hello"
        assert (await ws.receive_json())["op"] == "snapshot"
        return ws


async def publish_billing_answer(desk: Desk) -> Article:
    """The billing answer the IVR plays (its sound file) and the desk suggests, published."""
    assert desk.app is not None
    kb = desk.app[KNOWLEDGE_BASE]
    reviewer = Editor(None, reviewer=True)
    draft = ArticleDraft.create(
        title="Paying an invoice twice",
        body="We refund within 3 days.",
        category="billing",
        sound_file="hotline/faq/twice",
    )
    article = await kb.create(draft, reviewer)
    await kb.publish(article.id, reviewer)
    return article


@asynccontextmanager
async def running_desk(
    pool: asyncpg.Pool,
    timing: Mapping[str, float] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    notice_poll_s: float = 30.0,
) -> AsyncIterator[Desk]:
    """Start the simulator and the app (settings from `environ`), seed alice, bob and Jane Doe.

    `port` fixes the HTTP port (for a `server.public_url` known before the start).
    """
    simulator = PbxSimulator(
        SimulatorSettings(
            secret="sim-secret",
            agent_interfaces=(ALICE, BOB),
            calls_per_minute=0,
            time_scale=0.05,
            seed=7,
            **{"ring_s": 0.3, "talk_s": 0.3, **(timing or {})},
        )
    )
    await simulator.start()
    try:
        ami = AmiSettings(host="127.0.0.1", port=simulator.port, username="hotline", secret="sim-secret")
        app = build_web_app(
            load_settings(None, dict(environ or {})),
            pool,
            ami,
            hasher=FAST_HASHER,
            notice_poll_s=notice_poll_s,
        )
        accounts = app[SERVICES].accounts
        for username, iface in (("alice", ALICE), ("bob", BOB)):
            await accounts.create_agent(
                username=username,
                display_name=username.title(),
                password=f"{username}-password",
                role=Role.AGENT,
                interfaces=[iface],
            )
        jane = await pool.fetchval(
            "INSERT INTO customers (customer_no, name, tier, email) VALUES ('C1', 'Jane Doe', 'gold', 'jane@example.com')"
            " RETURNING id"
        )
        await pool.execute(
            "INSERT INTO customer_phones (phone, customer_id) VALUES ('+84901234567', $1)", jane
        )
        await pool.execute(
            "INSERT INTO interactions (customer_id, occurred_at, channel, summary) VALUES ($1, $2, 'call', 'Asked about the invoice')",
            jane,
            datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        )
        server = TestServer(app, host="127.0.0.1", port=port) if port is not None else TestServer(app)
        client = CheckedClient(server)
        await client.start_server()
        try:
            async with asyncio.timeout(10):
                await eventually(lambda: app[SERVICES].ami_connected(), timeout_s=10)
            yield Desk(client, simulator, pool, app)
        finally:
            await client.close()
    finally:
        await simulator.close()


@pytest.fixture
async def desk(pool: asyncpg.Pool, request: pytest.FixtureRequest) -> AsyncIterator[Desk]:
    """Hotline connected to the PBX simulator, with agents alice and bob and customer Jane Doe.

    Parametrize indirectly with a dict to change the simulator's ring and talk seconds.
    """
    async with running_desk(pool, getattr(request, "param", {})) as running:
        yield running
