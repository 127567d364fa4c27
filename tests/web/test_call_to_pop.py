"""The first road end to end: the PBX simulator speaks AMI to the real client, the tracker and the
pop service find the customer in PostgreSQL, and the agent's WebSocket receives the pop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from tests.app_fixtures import ALICE, BOB, Desk
from tests.conftest import eventually

pytestmark = pytest.mark.db


POP_TYPES = {"screen_pop", "pop_retracted", "call_answered", "call_ended"}


async def frames_until(ws: ClientWebSocketResponse, last_type: str) -> list[dict[str, Any]]:
    """The pop frames up to the first of `last_type` (agent-state events are skipped)."""
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] != last_type:
        frame = await ws.receive_json()
        if frame["type"] in POP_TYPES:
            frames.append(frame)
    return frames


async def test_known_caller_pops_on_the_ringing_agent_only_and_is_logged(desk: Desk) -> None:
    async with asyncio.timeout(20):
        alice = await desk.socket("alice")
        bob = await desk.socket("bob")
        call_id = await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        frames = await frames_until(alice, "call_ended")
        assert [f["type"] for f in frames] == ["screen_pop", "call_answered", "call_ended"]
        pop = frames[0]["data"]
        assert pop["call_id"] == call_id
        assert pop["caller"] == {"number": "+84901234567", "name": "Jane Doe"}
        assert (pop["customer"]["name"], pop["customer"]["tier"]) == ("Jane Doe", "gold")
        assert [i["summary"] for i in pop["interactions"]] == ["Asked about the invoice"]
        assert frames[1]["data"]["by_me"] is True
        assert frames[2]["data"]["outcome"] == "answered"

        async def logged() -> bool:
            # The call-log row is written first, then the timeline entry: wait for both.
            return bool(
                await desk.pool.fetchval(
                    "SELECT (SELECT count(*) FROM call_log WHERE call_id = $1) = 1"
                    " AND EXISTS (SELECT 1 FROM interactions WHERE ref = $1)",
                    call_id,
                )
            )

        await eventually(logged)
        row = await desk.pool.fetchrow(
            "SELECT agent_interface, outcome, customer_name, queue FROM call_log WHERE call_id = $1", call_id
        )
        assert dict(row) == {
            "agent_interface": ALICE,
            "outcome": "answered",
            "customer_name": "Jane Doe",
            "queue": "support",
        }
        summaries = await desk.pool.fetch("SELECT summary FROM interactions ORDER BY occurred_at DESC")
        assert summaries[0]["summary"].startswith("Call answered by Alice (support)")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await bob.receive_json()


async def test_ring_all_pops_both_and_retracts_the_loser(desk: Desk) -> None:
    async with asyncio.timeout(20):
        alice = await desk.socket("alice")
        bob = await desk.socket("bob")
        await desk.simulator.place_call(
            number="0977000111", name="Somebody New", scenario="ringall", agents=[BOB, ALICE]
        )
        alice_frames = await frames_until(alice, "pop_retracted")
        bob_frames = await frames_until(bob, "call_ended")
        assert [f["type"] for f in alice_frames] == ["screen_pop", "pop_retracted"]
        assert alice_frames[1]["data"]["reason"] == "answered_elsewhere"
        assert alice_frames[0]["data"]["customer"] is None
        assert [f["type"] for f in bob_frames] == ["screen_pop", "call_answered", "call_ended"]
        assert bob_frames[0]["data"]["caller"]["number"] == "0977000111"


async def test_abandoned_call_retracts_and_logs_abandoned(desk: Desk) -> None:
    async with asyncio.timeout(20):
        alice = await desk.socket("alice")
        call_id = await desk.simulator.place_call(
            number="0901234567", name="Jane Doe", scenario="abandon", agents=[ALICE]
        )
        frames = await frames_until(alice, "pop_retracted")
        assert frames[-1]["data"]["reason"] == "caller_left"

        async def logged() -> bool:
            outcome = await desk.pool.fetchval("SELECT outcome FROM call_log WHERE call_id = $1", call_id)
            return outcome == "abandoned"

        await eventually(logged)
