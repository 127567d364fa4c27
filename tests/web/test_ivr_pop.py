"""A caller who went through the IVR reaches an agent: the IVR path follows the screen pop to its card."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientWebSocketResponse

from hotline.app import IVR_SERVER
from tests.app_fixtures import ALICE, publish_billing_answer, running_desk
from tests.conftest import eventually, free_port
from tests.protocol.fake_agi import ScriptedAsterisk

pytestmark = pytest.mark.db


async def pop_and_details(ws: ClientWebSocketResponse) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The call's screen_pop and the pop_details that followed it (None if none did), up to call_ended."""
    pop: dict[str, Any] | None = None
    details = None
    while True:
        frame = await ws.receive_json()
        if frame["type"] == "screen_pop":
            pop = frame["data"]
        elif frame["type"] == "pop_details":
            assert pop is not None
            assert frame["data"]["call_id"] == pop["call_id"]
            details = frame["data"]
        elif frame["type"] == "call_ended":
            assert pop is not None
            return pop, details


async def test_the_ivr_path_and_the_queue_priority_ride_in_the_pop(pool: asyncpg.Pool) -> None:
    environ = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": "0"}
    async with running_desk(pool, environ=environ) as desk, asyncio.timeout(20):
        assert desk.app is not None
        alice = await desk.socket("alice")
        # Jane Doe (gold) calls from the number the simulator's call will show, picks 0 for an agent.
        caller = ScriptedAsterisk(keys=["0"], caller_number="+84901234567", linked_id="ivr-leg-1")
        await caller.call(desk.app[IVR_SERVER].port)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM ivr_visits"))
        assert caller.set_variables["QUEUE_PRIO"] == "5"
        call_id = await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        pop, details = await pop_and_details(alice)
        assert pop["call_id"] == call_id
        assert "ivr" not in pop
        assert details is not None
        assert details["ivr"] == {
            "steps": [
                {"node": "welcome", "input": "", "result": "known_number"},
                {"node": "main", "input": "0", "result": "chosen"},
                {"node": "agent", "input": "", "result": "support priority 5"},
            ],
            "outcome": "queued",
            "category": None,
            "queue_priority": 5,
            "callback_requested": False,
            "article": None,
        }
        # The IVR visit is on Jane's timeline too, next to the call.
        summaries = [
            r["summary"] for r in await pool.fetch("SELECT summary FROM interactions WHERE channel = 'ivr'")
        ]
        assert summaries == ["IVR: welcome > main [0] > agent; queued to support (priority 5)"]


async def test_a_call_that_skipped_the_ivr_pops_without_it(pool: asyncpg.Pool) -> None:
    async with running_desk(pool) as desk, asyncio.timeout(20):
        alice = await desk.socket("alice")
        await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        _, details = await pop_and_details(alice)
        assert details is None


async def test_the_article_heard_in_the_ivr_and_answers_for_the_chosen_category_ride_in_the_pop(
    pool: asyncpg.Pool,
) -> None:
    environ = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": "0"}
    async with running_desk(pool, environ=environ) as desk, asyncio.timeout(20):
        assert desk.app is not None
        article = await publish_billing_answer(desk)
        alice = await desk.socket("alice")
        await ScriptedAsterisk(keys=["2", "0"], caller_number="+84901234567", linked_id="ivr-2").call(
            desk.app[IVR_SERVER].port
        )
        await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM ivr_visits"))
        await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        _, details = await pop_and_details(alice)
        assert details is not None
        assert details["ivr"]["article"] == {"id": article.id, "title": "Paying an invoice twice"}
        assert details["ivr"]["category"] == "billing"
        assert [s["title"] for s in details["suggestions"]] == ["Paying an invoice twice"]


async def test_the_simulator_walks_callers_through_the_ivr_before_the_queue(pool: asyncpg.Pool) -> None:
    # What `make run` shows: the demo's simulated callers go through the real FastAGI IVR.
    port = free_port()
    environ = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": str(port)}
    async with running_desk(pool, {"ivr_share": 1.0, "ivr_port": port}, environ) as desk, asyncio.timeout(20):
        alice = await desk.socket("alice")
        call_id = await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        pop, details = await pop_and_details(alice)
        assert pop["call_id"] == call_id
        assert details is not None
        assert details["ivr"]["steps"][0] == {"node": "welcome", "input": "", "result": "known_number"}
        assert details["ivr"]["outcome"] == "queued"
        assert await pool.fetchval("SELECT call_id FROM ivr_visits") == call_id


async def test_calls_go_straight_to_the_queue_when_the_ivr_is_down(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = free_port()
    with caplog.at_level(logging.WARNING, logger="cti.simulator"):
        async with running_desk(pool, {"ivr_share": 1.0, "ivr_port": nobody}) as desk, asyncio.timeout(20):
            alice = await desk.socket("alice")
            for _ in range(2):
                await desk.simulator.place_call(
                    number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
                )
                _, details = await pop_and_details(alice)
                assert details is None
    told = [r for r in caplog.records if "is not reachable" in r.getMessage()]
    assert len(told) == 1
