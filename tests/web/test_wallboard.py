"""Agent states and the wallboard end to end: HTTP request -> AMI -> simulator -> AMI events -> sockets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from agents import Role
from cti.agent_states import Presence, StatePeriod
from cti.store import AgentStateStore
from tests.app_fixtures import ALICE, Desk, Web
from web_agent.app import SERVICES

pytestmark = pytest.mark.db


async def next_of(ws: ClientWebSocketResponse, type_: str, check: Any = None) -> dict[str, Any]:
    """The data of the next event of `type_` (that `check` accepts), skipping the others."""
    while True:
        frame = await ws.receive_json()
        if frame.get("type") == type_ and (check is None or check(frame["data"])):
            return dict(frame["data"])


async def supervisor_socket(desk: Desk) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    await desk.client.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    login = await desk.client.post(
        "/api/auth/login", json={"username": "carol", "password": "carol-password"}
    )
    ws = await desk.client.ws_connect(f"/ws?token={(await login.json())['token']}")
    assert (await ws.receive_json())["op"] == "hello"
    snapshot = await ws.receive_json()
    assert snapshot["op"] == "snapshot"
    return ws, snapshot["data"]


async def test_a_pause_with_a_reason_reaches_the_agent_and_the_wallboard(desk: Desk) -> None:
    async with asyncio.timeout(20):
        carol, snapshot = await supervisor_socket(desk)
        assert {a["interface"]: a["state"] for a in snapshot["wallboard"]["agents"]}[ALICE] == "ready"
        alice = await desk.socket("alice")
        login = await desk.client.post(
            "/api/auth/login", json={"username": "alice", "password": "alice-password"}
        )
        auth = {"Authorization": f"Bearer {(await login.json())['token']}"}

        state = await (await desk.client.get("/api/agent/state", headers=auth)).json()
        assert [i["state"] for i in state["interfaces"]] == ["ready"]
        assert state["pause_reasons"] == ["Break", "Lunch", "Training", "After-call work"]

        refused = await desk.client.post("/api/agent/pause", json={"reason": "Coffee"}, headers=auth)
        assert refused.status == 422
        assert (await refused.json())["error_id"] == "agent_state.unknown_reason"

        paused = await desk.client.post("/api/agent/pause", json={"reason": "Lunch"}, headers=auth)
        assert paused.status == 200, await paused.text()
        assert (await paused.json())["warnings"] == []
        mine = await next_of(alice, "agent_state")
        assert (mine["interface"], mine["state"], mine["reason"]) == (ALICE, "paused", "Lunch")
        seen = await next_of(carol, "agent_state")
        assert (seen["interface"], seen["state"]) == (ALICE, "paused")
        figures = await next_of(carol, "queue_figures", lambda d: d["queues"][0]["agents"]["paused"] == 1)
        support = figures["queues"][0]
        assert support["queue"] == "support"
        assert support["agents"] == {"ready": 1, "on_call": 0, "wrap_up": 0, "paused": 1}

        unpaused = await desk.client.post("/api/agent/unpause", headers=auth)
        assert unpaused.status == 200
        assert (await next_of(alice, "agent_state"))["state"] == "ready"


async def test_the_wallboard_follows_a_call_without_being_asked(desk: Desk) -> None:
    async with asyncio.timeout(20):
        carol, _ = await supervisor_socket(desk)
        call_id = await desk.simulator.place_call(
            number="0901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        on_call = await next_of(carol, "agent_state", lambda d: d["state"] == "on_call")
        assert on_call["interface"] == ALICE
        figures = await next_of(
            carol, "queue_figures", lambda d: d["queues"][0]["windows"]["15m"]["aht_s"] is not None
        )
        window = figures["queues"][0]["windows"]["15m"]
        assert window["answered"] == 1
        assert window["service_level"] == 1.0
        assert figures["queues"][0]["forecast"]["arrivals_per_hour"] == 4.0  # one call in 15 minutes
        assert call_id


async def test_agent_state_requests_need_a_pbx_and_a_login(desk: Desk) -> None:
    async with asyncio.timeout(10):
        assert (await desk.client.post("/api/agent/pause", json={"reason": "Lunch"})).status == 401
        login = await desk.client.post(
            "/api/auth/login", json={"username": "bob", "password": "bob-password"}
        )
        auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
        joined = await desk.client.post(
            "/api/agent/queues", json={"queue": "sales\r\nAction: Hangup"}, headers=auth
        )
        assert (joined.status, (await joined.json())["error_id"]) == (422, "validation.failed")
        elsewhere = await desk.client.post("/api/agent/queues", json={"queue": "vip"}, headers=auth)
        assert (elsewhere.status, (await elsewhere.json())["error_id"]) == (409, "pbx.refused")
        board = await desk.client.get("/api/wallboard", headers=auth)
        assert board.status == 403


async def test_supervisors_read_time_in_state_per_agent(web: Web) -> None:
    await web.agent("carol", role=Role.SUPERVISOR)
    await web.agent("alice", interfaces=(ALICE,))
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp()
    await AgentStateStore(web.pool).record_periods(
        [
            StatePeriod(ALICE, Presence.READY, "", t0, t0 + 120),
            StatePeriod(ALICE, Presence.PAUSED, "Lunch", t0 + 120, t0 + 1920),
        ]
    )
    carol = {"Authorization": f"Bearer {await web.token('carol')}"}
    span = {"since": "2026-12-01T15:00:00+07:00", "until": "2026-12-01T16:00:00+07:00"}
    async with asyncio.timeout(10):
        report = await web.client.get("/api/reports/agent-states", params=span, headers=carol)
        assert report.status == 200
        assert (await report.json())["totals"] == [
            {"interface": ALICE, "state": "paused", "reason": "Lunch", "seconds": 1800.0},
            {"interface": ALICE, "state": "ready", "reason": "", "seconds": 120.0},
        ]
        backwards = await web.client.get(
            "/api/reports/agent-states",
            params={"since": span["until"], "until": span["since"]},
            headers=carol,
        )
        assert backwards.status == 422
        naive = await web.client.get(
            "/api/reports/agent-states",
            params={"since": "2026-12-01T08:00", "until": span["until"]},
            headers=carol,
        )
        assert naive.status == 422
        alice = {"Authorization": f"Bearer {await web.token('alice')}"}
        assert (await web.client.get("/api/reports/agent-states", params=span, headers=alice)).status == 403
