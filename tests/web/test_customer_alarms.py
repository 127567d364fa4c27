"""Watched customers through the whole application: calls from the PBX simulator alert the owner."""

from __future__ import annotations

import asyncio

import pytest

from agents import Role
from tests.app_fixtures import ALICE, Desk
from tests.conftest import eventually
from web_agent.app import SERVICES

pytestmark = pytest.mark.db


async def test_a_watched_customer_calling_three_times_alerts_the_owner(desk: Desk) -> None:
    accounts = desk.client.app[SERVICES].accounts
    await accounts.create_agent(
        username="sue", display_name="Sue", password="sue-password", role=Role.SUPERVISOR, interfaces=[]
    )
    async with asyncio.timeout(40):
        login = await desk.client.post(
            "/api/auth/login", json={"username": "sue", "password": "sue-password"}
        )
        headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
        jane = await desk.pool.fetchval("SELECT id FROM customers WHERE name = 'Jane Doe'")
        alice = await desk.pool.fetchval("SELECT id FROM agents WHERE username = 'alice'")
        watched = await desk.client.post(
            "/api/watched-customers",
            json={"customer_id": jane, "owner_agent_id": alice, "owner_email": "alice@example.com"},
            headers=headers,
        )
        assert watched.status == 201
        alice_socket = await desk.socket("alice")

        async def calls_logged(count: int) -> bool:
            return bool(
                await desk.pool.fetchval("SELECT count(*) FROM call_log WHERE customer_id = $1", jane)
                == count
            )

        for count in (1, 2):
            await desk.simulator.place_call(
                number="0901234567", name="Jane Doe", scenario="abandon", agents=[ALICE]
            )
            await eventually(lambda count=count: calls_logged(count), timeout_s=10)
        assert await desk.pool.fetchval("SELECT count(*) FROM alerts") == 0
        await desk.simulator.place_call(
            number="0901234567", name="Jane Doe", scenario="abandon", agents=[ALICE]
        )

        async def alerted() -> bool:
            return bool(
                await desk.pool.fetchval("SELECT count(*) FROM alerts WHERE kind = 'customer_calls'") == 1
            )

        await eventually(alerted, timeout_s=10)
        # The owner hears at once, on the live stream.
        while True:
            frame = await alice_socket.receive_json()
            if frame.get("type") == "alert_raised":
                break
        assert frame["data"]["kind"] == "customer_calls"
        assert frame["data"]["agent_id"] == alice
        assert "Jane Doe" in frame["data"]["title"]
        assert "called 3 times" in frame["data"]["title"]
        await desk.simulator.place_call(
            number="0901234567", name="Jane Doe", scenario="abandon", agents=[ALICE]
        )
        await eventually(lambda: calls_logged(4), timeout_s=10)
        alerts = (await (await desk.client.get("/api/alerts", headers=headers)).json())["alerts"]
    assert [a["kind"] for a in alerts] == ["customer_calls"]
    assert {d["channel"] for d in alerts[0]["deliveries"]} == {"live", "email"}
