"""The REST API and the agent WebSocket through aiohttp's test client, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import WSMsgType

from agents import Role
from cti.events import CallAnswered, CallEnded, CallOutcome, OfferRetracted, RetractReason
from cti.screen_pop import ScreenPop
from hotline.app import SCREEN_POPS
from tests.app_fixtures import Web
from web_agent.app import SERVICES

pytestmark = pytest.mark.db


async def test_login_returns_a_token_and_the_agent(web: Web) -> None:
    await web.agent("alice", interfaces=("Local/1001@agents",))
    response = await web.client.post(
        "/api/auth/login", json={"username": "Alice", "password": "alice-password"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["agent"] == {
        "id": 1,
        "username": "alice",
        "display_name": "Alice",
        "role": "agent",
        "interfaces": ["Local/1001@agents"],
    }
    me = await web.client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert (await me.json())["agent"]["username"] == "alice"
    assert me.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "status", "error_id"),
    [
        ({"username": "alice", "password": "nope"}, 401, "auth.invalid_credentials"),
        ({"username": "ghost", "password": "alice-password"}, 401, "auth.invalid_credentials"),
        ({"username": "alice"}, 422, "validation.failed"),
        ({"username": ["alice"], "password": "x"}, 422, "validation.failed"),
        ([1, 2], 422, "validation.failed"),
    ],
)
async def test_bad_logins_get_a_stable_error_id(web: Web, body: object, status: int, error_id: str) -> None:
    await web.agent("alice")
    response = await web.client.post("/api/auth/login", json=body)
    assert response.status == status
    payload = await response.json()
    assert payload["error_id"] == error_id
    assert payload["message"]


async def test_hostile_bodies_are_refused_cleanly(web: Web) -> None:
    not_json = await web.client.post(
        "/api/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status, (await not_json.json())["error_id"]) == (422, "validation.failed")
    wrong_type = await web.client.post(
        "/api/auth/login", data=b"username=a", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status == 422
    huge = await web.client.post(
        "/api/auth/login", data=b"{" + b" " * 200_000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert huge.status == 413
    assert (await huge.json())["error_id"] == "http.request_entity_too_large"


async def test_password_guessing_is_rate_limited(web: Web) -> None:
    await web.agent("alice")
    for _ in range(10):
        response = await web.client.post("/api/auth/login", json={"username": "alice", "password": "guess"})
        assert response.status == 401
    blocked = await web.client.post(
        "/api/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert (await blocked.json())["error_id"] == "auth.rate_limited"


@pytest.mark.parametrize("path", ["/api/me", "/api/calls/today"])
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic YWxpY2U6eA=="])
async def test_api_needs_a_valid_bearer_token(web: Web, path: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await web.client.get(path, headers=headers)
    assert response.status == 401
    assert (await response.json())["error_id"] == "auth.required"


async def test_logout_revokes_the_token(web: Web) -> None:
    await web.agent("alice")
    token = await web.token("alice")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await web.client.post("/api/auth/logout", headers=auth)).status == 204
    assert (await web.client.get("/api/me", headers=auth)).status == 401


async def test_health_reports_database_and_ami(web: Web) -> None:
    response = await web.client.get("/api/health")
    assert response.status == 200
    assert await response.json() == {"status": "degraded", "ami": "disconnected", "database": "ok"}


async def test_health_says_database_error_when_it_is_gone(web: Web) -> None:
    await web.pool.close()
    response = await web.client.get("/api/health")
    assert response.status == 503
    assert (await response.json())["database"] == "error"


async def test_new_customer_from_a_pop(web: Web) -> None:
    await web.agent("alice")
    auth = {"Authorization": f"Bearer {await web.token('alice')}"}
    created = await web.client.post(
        "/api/customers", json={"name": "Mai Hoang", "phone": "0966 123 123", "tier": "gold"}, headers=auth
    )
    assert created.status == 201, await created.text()
    customer = (await created.json())["customer"]
    assert (customer["name"], customer["tier"], customer["phones"]) == ("Mai Hoang", "gold", ["+84966123123"])
    bad = await web.client.post("/api/customers", json={"name": "X", "phone": "call me"}, headers=auth)
    assert bad.status == 422
    body = await bad.json()
    assert body["error_id"] == "validation.failed"
    assert "phone" in body["details"]
    bad_tier = await web.client.post(
        "/api/customers", json={"name": "X", "phone": "0901111222", "tier": "platinum"}, headers=auth
    )
    assert (await bad_tier.json())["details"] == {"tier": "one of vip, gold, standard"}


async def test_socket_without_or_with_a_bad_token_is_closed_with_the_right_code(web: Web) -> None:
    async with asyncio.timeout(5):
        ws = await web.client.ws_connect("/ws")
        message = await ws.receive()
        assert (message.type, ws.close_code) == (WSMsgType.CLOSE, 4001)
        ws = await web.client.ws_connect("/ws?token=forged")
        message = await ws.receive()
        assert (message.type, ws.close_code) == (WSMsgType.CLOSE, 4002)


async def test_pops_reach_only_the_agent_whose_interface_rings(web: Web) -> None:
    await web.agent("alice", interfaces=("Local/1001@agents",))
    await web.agent("bob", interfaces=("Local/1002@agents",))
    await web.agent("carol", role=Role.SUPERVISOR)
    pops = web.client.app[SCREEN_POPS]
    async with asyncio.timeout(5):
        alice = await web.client.ws_connect(f"/ws?token={await web.token('alice')}")
        bob = await web.client.ws_connect(f"/ws?token={await web.token('bob')}")
        assert (await alice.receive_json())["op"] == "hello"
        assert (await bob.receive_json())["agent"]["username"] == "bob"
        assert [(await ws.receive_json())["op"] for ws in (alice, bob)] == ["snapshot", "snapshot"]

        pops.show(
            ["Local/1001@agents"], ScreenPop("9.1", "support", "0901234567", "Jane", 1_800_000_000.0, None)
        )
        pops.show(["Local/1002@agents"], OfferRetracted("9.2", "Local/1002@agents", RetractReason.NO_ANSWER))
        pops.show(
            ["Local/1001@agents", "Local/1002@agents"],
            CallAnswered("9.1", "Local/1001@agents", "support", "0901234567", 3, 1_800_000_003.0),
        )
        ended = CallEnded(
            "9.1",
            "0901234567",
            "Jane",
            "support",
            "Local/1001@agents",
            CallOutcome.ANSWERED,
            "16",
            3,
            40,
            1_800_000_000.0,
            1_800_000_003.0,
            1_800_000_043.0,
        )
        pops.show(["Local/1001@agents"], ended)

        frames = [await alice.receive_json() for _ in range(3)]
        assert [f["seq"] for f in frames] == [1, 2, 3]
        assert [f["type"] for f in frames] == ["screen_pop", "call_answered", "call_ended"]
        assert frames[0]["data"] == {
            "call_id": "9.1",
            "queue": "support",
            "offered_at": "2027-01-15T08:00:00+00:00",
            "caller": {"number": "0901234567", "name": "Jane"},
            "customer": None,
            "interactions": [],
        }
        assert frames[1]["data"]["by_me"] is True
        assert frames[2]["data"] == {"call_id": "9.1", "outcome": "answered", "wait_s": 3, "talk_s": 40}

        bob_frames = [await bob.receive_json() for _ in range(2)]
        assert [f["type"] for f in bob_frames] == ["pop_retracted", "call_answered"]
        assert bob_frames[1]["data"]["by_me"] is False
        assert all(f["data"]["call_id"] != "9.1" or f["type"] != "screen_pop" for f in bob_frames)
        await alice.close()
        await bob.close()


async def test_a_browser_that_stops_reading_is_dropped_not_waited_for(web: Web) -> None:
    await web.agent("alice", interfaces=("Local/1001@agents",))
    hub, pops = web.client.app[SERVICES].hub, web.client.app[SCREEN_POPS]
    async with asyncio.timeout(10):
        ws = await web.client.ws_connect(f"/ws?token={await web.token('alice')}")
        assert (await ws.receive_json())["op"] == "hello"
        assert (await ws.receive_json())["op"] == "snapshot"
        assert hub.connection_count == 1
        pop = ScreenPop("9.1", "support", "0901234567", "J" * 20_000, 1_800_000_000.0, None)
        # Synchronous sends never yield, so the writer cannot drain: the bounded queue overflows.
        for _ in range(300):
            pops.show(["Local/1001@agents"], pop)
        assert hub.connection_count == 0
        while True:
            message = await ws.receive()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED):
                break
            assert json.loads(message.data)["type"] == "screen_pop"
        assert ws.close_code == 1013


async def test_agents_find_customers_by_name_without_diacritics_or_by_phone(web: Web) -> None:
    await web.agent("alice")
    auth = {"Authorization": f"Bearer {await web.token('alice')}"}
    created = await web.client.post(
        "/api/customers", json={"name": "Trần Văn Bình", "phone": "0912345678", "tier": "vip"}, headers=auth
    )
    assert created.status == 201
    for query in ("tran binh", "+84912345678"):
        response = await web.client.get("/api/customers", params={"q": query}, headers=auth)
        assert [c["name"] for c in (await response.json())["customers"]] == ["Trần Văn Bình"]
    nothing = await web.client.get("/api/customers", params={"q": "nobody here"}, headers=auth)
    assert (await nothing.json())["customers"] == []
    assert (await web.client.get("/api/customers", params={"q": "x"})).status == 401
