"""Every IVR action end to end: a scripted caller on FastAGI, the whole application, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from agents import Role
from hotline.app import IVR_SERVER, build_web_app
from hotline.settings import load_settings
from tests.app_fixtures import FAST_HASHER
from tests.conftest import eventually
from tests.protocol.fake_agi import HANG_UP, ScriptedAsterisk
from tickets.model import CUSTOMER, Channel, NewTicket, TicketStatus
from tickets.service import TicketService
from web_agent.app import SERVICES

pytestmark = pytest.mark.db
IVR_ENV = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": "0"}


@dataclass
class Ivr:
    """The running application with its FastAGI server, and its database."""

    port: int
    pool: asyncpg.Pool
    tickets: TicketService
    client: TestClient  # type: ignore[type-arg]

    async def call(self, caller: ScriptedAsterisk) -> dict[str, object]:
        """Play one call through the IVR and return its stored visit."""
        await caller.call(self.port)

        async def stored() -> bool:
            return bool(
                await self.pool.fetchval(
                    "SELECT count(*) FROM ivr_visits WHERE call_id = $1", caller.linked_id
                )
            )

        await eventually(stored)
        row = await self.pool.fetchrow("SELECT * FROM ivr_visits WHERE call_id = $1", caller.linked_id)
        visit = dict(row)
        visit["steps"] = [(s["node"], s["input"], s["result"]) for s in json.loads(visit["steps"])]
        return visit


@asynccontextmanager
async def running_ivr(pool: asyncpg.Pool, environ: Mapping[str, str] = IVR_ENV) -> AsyncIterator[Ivr]:
    """The whole application with its FastAGI server on a free port (settings from `environ`)."""
    app = build_web_app(load_settings(None, environ), pool, ami=None, hasher=FAST_HASHER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Ivr(app[IVR_SERVER].port, pool, app[SERVICES].tickets, client)
    finally:
        await client.close()


@pytest.fixture
async def ivr(pool: asyncpg.Pool) -> AsyncIterator[Ivr]:
    async with running_ivr(pool) as running:
        yield running


async def customer(
    pool: asyncpg.Pool, name: str, tier: str, phone: str | None, customer_no: str | None = None
) -> int:
    customer_id: int = await pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ($1, $2, $3) RETURNING id",
        customer_no,
        name,
        tier,
    )
    if phone is not None:
        await pool.execute(
            "INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2)", phone, customer_id
        )
    return customer_id


async def ticket(
    ivr: Ivr, customer_id: int, category: str = "billing", assignee_id: int | None = None
) -> int:
    new = NewTicket.create(
        subject="Invoice twice",
        description="charged twice",
        category=category,
        channel=Channel.PHONE,
        categories=ivr.tickets.categories,
        customer_id=customer_id,
    )
    opened = await ivr.tickets.open(new, CUSTOMER, assignee_id=assignee_id)
    return opened.id


async def test_a_vip_caller_known_by_number_goes_first_into_the_vip_queue(ivr: Ivr) -> None:
    vera = await customer(ivr.pool, "Vera VIP", "vip", "+84908000042")
    caller = ScriptedAsterisk(keys=["0"], caller_number="0908000042")
    visit = await ivr.call(caller)
    assert caller.commands[:2] == ["ANSWER", 'GET FULL VARIABLE "${CHANNEL(linkedid)}"']
    assert caller.set_variables == {
        "QUEUE_PRIO": "10",
        "__HOTLINE_CUSTOMER": str(vera),
        "HOTLINE_QUEUE": "vip",
    }
    assert caller.played[:2] == ["hotline/welcome", "hotline/main-menu"]
    assert visit["steps"] == [
        ("welcome", "", "known_number"),
        ("main", "0", "chosen"),
        ("agent", "", "vip priority 10"),
    ]
    assert (visit["outcome"], visit["queue"], visit["queue_priority"], visit["customer_id"]) == (
        "queued",
        "vip",
        10,
        vera,
    )
    assert visit["unique_id"] == "1795394472.3"
    # The visit's timeline line is the customers' reaction to the IVR's event: written just after.
    query = "SELECT channel, summary, ref FROM interactions WHERE customer_id = $1"
    await eventually(lambda: ivr.pool.fetchval(f"SELECT count(*) FROM ({query}) AS t", vera))
    timeline = await ivr.pool.fetch(query, vera)
    assert [(r["channel"], r["ref"]) for r in timeline] == [("ivr", "ivr:1795394472.3")]
    assert timeline[0]["summary"] == "IVR: welcome > main [0] > agent; queued to vip (priority 10)"


async def test_an_unknown_number_keys_the_customer_number_and_an_overdue_ticket_lifts_priority(
    ivr: Ivr,
) -> None:
    sam = await customer(ivr.pool, "Sam Standard", "standard", "+84901111111", customer_no="4711")
    await ticket(ivr, sam)
    await ivr.pool.execute("UPDATE tickets SET first_response_due = now() - interval '1 hour'")
    caller = ScriptedAsterisk(keys=["999", "4711", "0"], caller_number="0907000001")
    visit = await ivr.call(caller)
    assert visit["steps"] == [
        ("welcome", "999", "not_found"),
        ("welcome", "4711", "customer_number"),
        ("main", "0", "chosen"),
        ("agent", "", "support priority 8 escalated"),
    ]
    assert "hotline/customer-not-found" in caller.played
    assert caller.set_variables["QUEUE_PRIO"] == "8"
    assert caller.set_variables["__HOTLINE_CUSTOMER"] == str(sam)


async def test_an_unknown_caller_who_keys_nothing_still_reaches_an_agent(ivr: Ivr) -> None:
    caller = ScriptedAsterisk(keys=["", "", "", "", "", ""], caller_number="")
    visit = await ivr.call(caller)
    assert [s[2] for s in visit["steps"]] == [
        "no_key",
        "no_key",
        "no_key",
        "no_key",
        "no_key",
        "support priority 0",
    ]
    assert caller.set_variables == {"QUEUE_PRIO": "0", "HOTLINE_QUEUE": "support"}
    assert visit["customer_id"] is None
    assert await ivr.pool.fetchval("SELECT count(*) FROM interactions") == 0


async def test_ticket_status_is_said_and_the_caller_reaches_the_handler(ivr: Ivr) -> None:
    accounts = ivr.client.app[SERVICES].accounts
    alice = await accounts.create_agent(
        username="alice",
        display_name="Alice",
        password="alice-password",
        role=Role.AGENT,
        interfaces=["Local/1001@agents"],
    )
    await ivr.tickets.set_handler(alice.id, department="billing", skills=["billing"], capacity=5)
    gina = await customer(ivr.pool, "Gina Gold", "gold", "+84902222222")
    number = await ticket(ivr, gina, assignee_id=alice.id)
    assert (await ivr.tickets.get(number)).status is TicketStatus.ASSIGNED
    caller = ScriptedAsterisk(keys=["1", str(number), "1"], caller_number="0902222222")
    visit = await ivr.call(caller)
    assert f'SAY NUMBER {number} ""' in caller.played
    assert caller.played.index("hotline/ticket-number") < caller.played.index("hotline/status-assigned")
    assert caller.set_variables["HOTLINE_HANDLER"] == "Local/1001@agents"
    assert caller.set_variables["HOTLINE_QUEUE"] == "support"
    assert caller.set_variables["QUEUE_PRIO"] == "5"
    assert visit["steps"][2:] == [
        ("ticket_status", str(number), "assigned"),
        ("ticket_status", "1", "to_handler"),
        ("agent", "", "support priority 5"),
    ]
    assert visit["category"] == "billing"


async def test_someone_elses_ticket_is_not_found_and_a_hangup_mid_menu_is_kept(ivr: Ivr) -> None:
    other = await customer(ivr.pool, "Other Person", "standard", "+84903333333")
    await customer(ivr.pool, "Ivan Inquisitive", "standard", "+84904444444")
    number = await ticket(ivr, other)
    caller = ScriptedAsterisk(
        keys=["1", str(number), str(number), str(number), HANG_UP], caller_number="0904444444"
    )
    visit = await ivr.call(caller)
    assert [s[2] for s in visit["steps"]] == ["known_number", "chosen", "not_found", "not_found", "not_found"]
    assert caller.played.count("hotline/ticket-not-found") == 3
    assert not any(p.startswith("SAY NUMBER") for p in caller.played)
    assert visit["outcome"] == "hung_up"
    assert "HANGUP" not in caller.commands  # the caller hung up; the IVR just ended


async def test_a_callback_request_is_promised_to_the_team_and_says_goodbye(ivr: Ivr) -> None:
    vera = await customer(ivr.pool, "Vera VIP", "vip", "+84908000042")
    caller = ScriptedAsterisk(keys=["5"], caller_number="0908000042")
    visit = await ivr.call(caller)
    assert visit["outcome"] == "completed"
    assert visit["callback_requested"] is True
    assert caller.commands[-1] == "HANGUP"
    assert caller.played[-2:] == ["hotline/callback-confirmed", "hotline/goodbye"]
    row = await ivr.pool.fetchrow(
        "SELECT customer_id, customer_name, phone, requested_by, agent_id, status, note FROM callbacks"
    )
    assert {
        k: row[k] for k in ("customer_id", "customer_name", "phone", "requested_by", "agent_id", "status")
    } == {
        "customer_id": vera,
        "customer_name": "Vera VIP",
        "phone": "0908000042",
        "requested_by": "ivr",
        "agent_id": None,
        "status": "scheduled",
    }
    assert caller.linked_id in row["note"]
    assert await ivr.pool.fetchval("SELECT count(*) FROM tickets") == 0


async def test_a_faq_without_articles_or_a_match_says_so_and_goes_on(ivr: Ivr) -> None:
    caller = ScriptedAsterisk(
        keys=["", "", "2", "4", "0"], caller_number="0909999999", variables={"SPEECH_TEXT": "invoice"}
    )
    visit = await ivr.call(caller)
    assert visit["steps"][2:] == [
        ("main", "2", "chosen"),
        ("faq_billing", "", "no_articles"),
        ("main", "4", "chosen"),
        ("faq_speech", "invoice", "no_match"),
        ("main", "0", "chosen"),
        ("agent", "", "support priority 0"),
    ]
    assert caller.played.count("hotline/faq-unavailable") == 1
    assert caller.played.count("hotline/faq-no-match") == 1
    assert visit["category"] == "billing"


async def test_a_database_failure_sends_the_caller_to_an_agent(ivr: Ivr) -> None:
    # The ticket store is broken for this call: the IVR must not leave the caller in silence.
    await ivr.pool.execute("ALTER TABLE tickets RENAME TO tickets_away")
    try:
        caller = ScriptedAsterisk(keys=["", "", "1", "12"], caller_number="0905555555")
        visit = await ivr.call(caller)
    finally:
        await ivr.pool.execute("ALTER TABLE tickets_away RENAME TO tickets")
    assert visit["steps"][-2:] == [("ticket_status", "", "error"), ("agent", "", "support priority 0")]
    assert visit["outcome"] == "queued"


async def test_many_calls_at_once(ivr: Ivr) -> None:
    callers = [
        ScriptedAsterisk(
            keys=["", "", "0"], caller_number=f"09010000{i:02d}", linked_id=f"1.{i}", unique_id=f"2.{i}"
        )
        for i in range(20)
    ]
    async with asyncio.timeout(20):
        await asyncio.gather(*(c.call(ivr.port) for c in callers))
    await eventually(lambda: ivr.pool.fetchval("SELECT count(*) = 20 FROM ivr_visits"))
    assert all(c.set_variables["HOTLINE_QUEUE"] == "support" for c in callers)


async def test_a_busy_fastagi_port_is_reported_and_the_desk_keeps_serving(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build_web_app(
            load_settings(None, {**IVR_ENV, "HOTLINE_IVR_PORT": str(port)}),
            pool,
            ami=None,
            hasher=FAST_HASHER,
        )
        client = TestClient(TestServer(app))
        with caplog.at_level(logging.ERROR, logger="ivr.fastagi"):
            await client.start_server()
        try:
            assert f"cannot listen for FastAGI on 127.0.0.1:{port}" in caplog.text
            assert "HOTLINE_IVR_PORT" in caplog.text
            response = await client.get("/api/health")
            assert response.status == 200
        finally:
            await client.close()


async def test_a_caller_on_the_tickets_contact_number_hears_its_status(ivr: Ivr) -> None:
    new = NewTicket.create(
        subject="Router broken",
        description="no light",
        category="technical",
        channel=Channel.PORTAL,
        categories=ivr.tickets.categories,
        contact_name="Walk-in",
        contact_phone="0906666666",
    )
    number = (await ivr.tickets.open(new, CUSTOMER)).id
    caller = ScriptedAsterisk(keys=["", "", "1", str(number), "0"], caller_number="0906666666")
    visit = await ivr.call(caller)
    assert ("ticket_status", str(number), "new") in visit["steps"]
    assert "hotline/status-received" in caller.played
    # Nobody handles it yet, so no handler is offered; back in the menu the caller picks an agent.
    assert "hotline/press-1-for-handler" not in caller.played
    assert "HOTLINE_HANDLER" not in caller.set_variables
    assert visit["category"] == "technical"
