"""A browser that reconnects resumes its stream: the missed events in order, exactly once, or a snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import pytest
from aiohttp import ClientWebSocketResponse, web
from aiohttp.test_utils import TestServer

from agents import Agent, Role
from cti.events import CallAnswered, OfferRetracted, RetractReason
from cti.screen_pop import ScreenPop
from hotline.app import SCREEN_POPS, build_web_app
from hotline.settings import load_settings
from tests.api_contract import CheckedClient
from tests.app_fixtures import FAST_HASHER, Web
from tests.conftest import eventually
from web_agent.api import SUPERVISORS
from web_agent.app import SERVICES
from web_agent.feeds import PopFeed
from web_agent.hub import AgentHub
from web_agent.stream import ResumableStream

pytestmark = pytest.mark.db
ALICE = "Local/1001@agents"


@pytest.fixture
async def small_buffer_web(pool: asyncpg.Pool) -> AsyncIterator[Web]:
    """The web application with a resume buffer of 3 frames."""
    settings = load_settings(None, {"HOTLINE_SERVER_WS_RESUME_BUFFER": "3"})
    app = build_web_app(settings, pool, ami=None, hasher=FAST_HASHER)
    client = CheckedClient(TestServer(app))
    await client.start_server()
    try:
        yield Web(client, pool, app[SERVICES].accounts)
    finally:
        await client.close()


def pop(call_id: str) -> ScreenPop:
    return ScreenPop(call_id, "support", "0901234567", "Jane", 1_800_000_000.0, None)


async def open_socket(
    web: Web, token: str, query: str = ""
) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    ws = await web.client.ws_connect(f"/ws?token={token}{query}")
    hello = await ws.receive_json()
    assert hello["op"] == "hello"
    return ws, hello


async def drop(web: Web, ws: ClientWebSocketResponse, hub: AgentHub[Agent]) -> None:
    await ws.close()
    await eventually(lambda: hub.connection_count == 0)


async def test_reconnect_with_a_gap_gets_the_missed_events_in_order_exactly_once(
    small_buffer_web: Web,
) -> None:
    web = small_buffer_web
    await web.agent("alice", interfaces=(ALICE,))
    hub, pops = web.client.app[SERVICES].hub, web.client.app[SCREEN_POPS]
    token = await web.token("alice")
    async with asyncio.timeout(10):
        ws, hello = await open_socket(web, token)
        assert hello["resumed"] is False
        assert hello["seq"] == 0
        assert (await ws.receive_json())["op"] == "snapshot"
        pops.show([ALICE], pop("1.1"))
        first = await ws.receive_json()
        assert (first["seq"], first["data"]["call_id"]) == (1, "1.1")
        await drop(web, ws, hub)

        # The blip: three events while nobody reads.
        pops.show([ALICE], OfferRetracted("1.1", ALICE, RetractReason.CALLER_LEFT))
        pops.show([ALICE], pop("1.2"))
        pops.show([ALICE], CallAnswered("1.2", ALICE, "support", "0901234567", 2, 1_800_000_002.0))

        ws, hello = await open_socket(web, token, f"&scope={hello['scope']}&since=1")
        assert hello["resumed"] is True
        pops.show([ALICE], pop("1.3"))  # live again: comes after what was missed
        frames = [await ws.receive_json() for _ in range(4)]
        assert [(f["op"], f["seq"], f["type"]) for f in frames] == [
            ("event", 2, "pop_retracted"),
            ("event", 3, "screen_pop"),
            ("event", 4, "call_answered"),
            ("event", 5, "screen_pop"),
        ]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await ws.receive_json()
        await ws.close()


async def test_too_much_missed_gets_a_fresh_scope_and_a_snapshot_of_the_open_pops(
    small_buffer_web: Web,
) -> None:
    web = small_buffer_web
    await web.agent("alice", interfaces=(ALICE,))
    hub, pops = web.client.app[SERVICES].hub, web.client.app[SCREEN_POPS]
    token = await web.token("alice")
    async with asyncio.timeout(10):
        ws, hello = await open_socket(web, token)
        await ws.receive_json()  # snapshot
        await drop(web, ws, hub)
        for i in range(4):  # one more than the buffer holds
            pops.show([ALICE], pop(f"2.{i}"))
        pops.show([ALICE], OfferRetracted("2.0", ALICE, RetractReason.NO_ANSWER))

        ws, again = await open_socket(web, token, f"&scope={hello['scope']}&since=0")
        assert again["resumed"] is False
        assert again["scope"] != hello["scope"]
        snapshot = await ws.receive_json()
        assert snapshot["op"] == "snapshot"
        assert snapshot["seq"] == 0
        assert sorted(p["call_id"] for p in snapshot["data"]["pops"]) == ["2.1", "2.2", "2.3"]
        assert snapshot["data"]["agent_state"] == {
            "interfaces": [],  # no PBX in this test, so Asterisk never reported alice's interface
            "pause_reasons": ["Break", "Lunch", "Training", "After-call work"],
        }
        assert snapshot["data"]["wallboard"] is None  # alice is not a supervisor
        pops.show([ALICE], pop("2.9"))
        assert (await ws.receive_json())["seq"] == 1
        await ws.close()


async def test_another_agent_cannot_resume_a_stream(small_buffer_web: Web) -> None:
    web = small_buffer_web
    await web.agent("alice", interfaces=(ALICE,))
    await web.agent("bob", interfaces=("Local/1002@agents",))
    hub, pops = web.client.app[SERVICES].hub, web.client.app[SCREEN_POPS]
    async with asyncio.timeout(10):
        ws, hello = await open_socket(web, await web.token("alice"))
        await ws.receive_json()
        await drop(web, ws, hub)
        pops.show([ALICE], pop("3.1"))
        ws, bobs = await open_socket(web, await web.token("bob"), f"&scope={hello['scope']}&since=0")
        assert bobs["resumed"] is False
        snapshot = await ws.receive_json()
        assert snapshot["data"]["pops"] == []
        await ws.close()


def test_stream_since_refuses_what_it_no_longer_holds() -> None:
    stream = ResumableStream(capacity=2)
    for i in range(3):
        stream.append("x", str(i))
    assert stream.since(3) == []
    assert [f.split('"seq":')[1].split(",")[0] for f in stream.since(1) or []] == ["2", "3"]
    assert stream.since(0) is None
    assert stream.since(4) is None
    assert stream.since(-1) is None


async def test_the_old_socket_closing_late_does_not_detach_a_resumed_stream() -> None:
    """The slow socket's handler may finish after its browser already resumed on a new socket."""
    hub: AgentHub[Agent] = AgentHub(send_queue=8, resume_buffer=64)
    feed = PopFeed(hub)
    alice = Agent(1, "alice", "Alice", Role.AGENT, (ALICE,))
    old_ws, new_ws = cast(web.WebSocketResponse, object()), cast(web.WebSocketResponse, object())
    connection, _ = hub.connect(alice, old_ws)
    for i in range(9):  # one more than the send queue: the stream is dropped and detached
        feed.send([ALICE], pop(f"6.{i}"))
    assert hub.connection_count == 0
    resumed, ok = hub.connect(alice, new_ws, (connection.stream.scope, 0))
    assert ok
    assert resumed is connection
    hub.disconnect(connection, old_ws)  # the old handler's cleanup, late
    assert connection.ws is new_ws
    assert hub.connection_count == 1
    hub.disconnect(connection, new_ws)
    assert hub.connection_count == 0


async def test_a_browser_dropped_for_reading_too_slowly_resumes_and_keeps_its_new_socket(web: Web) -> None:
    await web.agent("alice", interfaces=(ALICE,))
    hub, pops = web.client.app[SERVICES].hub, web.client.app[SCREEN_POPS]
    token = await web.token("alice")
    async with asyncio.timeout(20):
        old, hello = await open_socket(web, token)
        await old.receive_json()  # snapshot
        # Synchronous sends never yield, so the writer cannot drain: the bounded queue overflows.
        for i in range(300):
            pops.show([ALICE], pop(f"5.{i}"))
        assert hub.connection_count == 0
        new, again = await open_socket(web, token, f"&scope={hello['scope']}&since=0")
        assert again["resumed"] is True
        # The old socket's handler ends only now; the new socket must stay the stream's.
        while not old.closed:
            await old.receive()
        pops.show([ALICE], pop("5.300"))
        seqs = [(await new.receive_json())["seq"] for _ in range(301)]
        assert seqs == list(range(1, 302))
        assert hub.connection_count == 1
        await new.close()


async def test_ticket_events_missed_during_a_blip_arrive_on_resume_for_the_agent_and_supervisors(
    small_buffer_web: Web,
) -> None:
    web = small_buffer_web
    alice = await web.agent("alice", interfaces=(ALICE,))
    await web.agent("bob")
    await web.agent("carol", role=Role.SUPERVISOR)
    hub = web.client.app[SERVICES].hub
    async with asyncio.timeout(10):
        sockets = {}
        for name in ("alice", "bob", "carol"):
            ws, hello = await open_socket(web, await web.token(name))
            assert (await ws.receive_json())["op"] == "snapshot"
            sockets[name] = (ws, hello)
        for ws, _ in sockets.values():
            await ws.close()
        await eventually(lambda: hub.connection_count == 0)

        hub.send_to_agents(
            [alice.id], "ticket_changed", {"change": "assigned", "ticket": {"id": 7}}, roles=SUPERVISORS
        )

        for name, expected in (("alice", [7]), ("carol", [7]), ("bob", [])):
            _, hello = sockets[name]
            ws, again = await open_socket(web, await web.token(name), f"&scope={hello['scope']}&since=0")
            assert again["resumed"] is True
            got = []
            if expected:
                frame = await ws.receive_json()
                got.append(frame["data"]["ticket"]["id"])
                assert (frame["type"], frame["seq"]) == ("ticket_changed", 1)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await ws.receive_json()
            assert got == expected, name
            await ws.close()


def test_a_frame_for_a_phone_and_the_supervisors_is_encoded_once_and_reaches_each_stream_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub: AgentHub[Agent] = AgentHub(send_queue=8)
    alice = Agent(1, "alice", "Alice", Role.AGENT, (ALICE,))
    bob = Agent(2, "bob", "Bob", Role.AGENT, ("Local/1002@agents",))
    carol = Agent(3, "carol", "Carol", Role.SUPERVISOR, ("Local/1003@agents",))
    streams = {
        a.username: hub.connect(a, cast(web.WebSocketResponse, object()))[0].stream
        for a in (alice, bob, carol)
    }
    encoded: list[object] = []
    dumps = json.dumps
    monkeypatch.setattr(json, "dumps", lambda data, **kw: encoded.append(data) or dumps(data, **kw))
    hub.publish([ALICE], "agent_state", {"interface": ALICE}, roles=SUPERVISORS)
    hub.publish(["Local/1003@agents"], "agent_state", {"interface": "Local/1003@agents"}, roles=SUPERVISORS)
    assert len(encoded) == 2
    frames = {
        name: [json.loads(f)["data"]["interface"] for f in s.since(0) or []] for name, s in streams.items()
    }
    assert frames == {"alice": [ALICE], "bob": [], "carol": [ALICE, "Local/1003@agents"]}
