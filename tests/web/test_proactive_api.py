"""The proactive service and the service reports over HTTP, on the real app and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from agents import Role
from hotline.app import build_web_app
from hotline.settings import load_settings
from tests.api_contract import CheckedClient
from tests.app_fixtures import FAST_HASHER, Web
from tests.conftest import eventually
from tests.db.test_report_store import seed_known_tickets
from tests.db.test_ticket_service import Clock
from web_agent.app import SERVICES
from web_agent.proactive_api import PROACTIVE

pytestmark = pytest.mark.db
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@dataclass
class Proactive:
    web: Web
    clock: Clock

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.web.token(username)}"}

    async def call(self, method: str, path: str, username: str, **kwargs: Any) -> tuple[int, Any]:
        response = await self.web.client.request(method, path, headers=await self.headers(username), **kwargs)
        return response.status, await response.json()

    async def run_callbacks(self) -> int:
        return await self.web.client.app[PROACTIVE].callbacks.run_once()


@pytest.fixture
async def proactive(pool: asyncpg.Pool) -> AsyncIterator[Proactive]:
    clock = Clock(NOW)
    app = build_web_app(load_settings(None, {}), pool, ami=None, hasher=FAST_HASHER, clock=clock)
    client = CheckedClient(TestServer(app))
    await client.start_server()
    try:
        web = Web(client, pool, app[SERVICES].accounts)
        await web.agent("anna", interfaces=("PJSIP/1001",))
        await web.agent("ben", interfaces=("PJSIP/1002",))
        await web.agent("sam", Role.SUPERVISOR)
        yield Proactive(web, clock)
    finally:
        await client.close()


async def test_a_promised_callback_pops_on_the_agents_desktop_when_due(proactive: Proactive) -> None:
    async with asyncio.timeout(20):
        due = (NOW + timedelta(minutes=10)).isoformat()
        status, body = await proactive.call(
            "POST",
            "/api/callbacks",
            "anna",
            json={"number": "0901 234 567", "due_at": due, "note": "Price list"},
        )
        assert status == 201, body
        callback = body["callback"]
        assert (callback["number"], callback["status"], callback["requested_by"]) == (
            "0901234567",
            "scheduled",
            "agent",
        )
        token = await proactive.web.token("anna")
        ws = await proactive.web.client.ws_connect(f"/ws?token={token}")
        try:
            assert (await ws.receive_json())["op"] == "hello"
            assert (await ws.receive_json())["op"] == "snapshot"
            assert await proactive.run_callbacks() == 0
            proactive.clock.now = NOW + timedelta(minutes=10)
            assert await proactive.run_callbacks() == 1
            frame = await ws.receive_json()
            assert (frame["type"], frame["data"]["id"], frame["data"]["status"]) == (
                "callback_due",
                callback["id"],
                "offered",
            )
            assert frame["data"]["offered_to"] == [callback["agent_id"]]
        finally:
            await ws.close()
        status, body = await proactive.call("GET", "/api/callbacks", "anna")
        assert [c["id"] for c in body["callbacks"]] == [callback["id"]]


async def test_an_away_agents_callback_goes_to_a_colleague_who_is_signed_in(proactive: Proactive) -> None:
    async with asyncio.timeout(20):
        status, body = await proactive.call("POST", "/api/callbacks", "anna", json={"number": "0901234567"})
        assert status == 201
        token = await proactive.web.token("ben")
        ws = await proactive.web.client.ws_connect(f"/ws?token={token}")
        try:
            await ws.receive_json()
            await ws.receive_json()
            assert await proactive.run_callbacks() == 1
            frame = await ws.receive_json()
            assert frame["type"] == "callback_due"
            assert frame["data"]["to_team"] is True
        finally:
            await ws.close()
        status, listed = await proactive.call("GET", "/api/callbacks", "ben")
        assert [c["id"] for c in listed["callbacks"]] == [body["callback"]["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"number": "0901\r\nAction: Hangup"}, "number"),
        ({"number": "0901234567", "due_at": "tomorrow"}, "due_at"),
        ({"number": "0901234567", "due_at": "2026-12-01T10:00:00"}, "due_at"),
        ({"number": "0901234567", "customer_id": "7"}, "customer_id"),
        ({}, "number"),
    ],
)
async def test_a_bad_callback_request_is_refused_with_the_field(
    proactive: Proactive, payload: dict[str, Any], field: str
) -> None:
    status, body = await proactive.call("POST", "/api/callbacks", "anna", json=payload)
    assert (status, body["error_id"]) == (422, "validation.failed")
    assert field in body["details"]
    assert await proactive.web.pool.fetchval("SELECT count(*) FROM callbacks") == 0


async def test_only_its_agent_or_team_can_dial_a_callback_and_no_pbx_is_a_clear_503(
    proactive: Proactive,
) -> None:
    async with asyncio.timeout(20):
        _, body = await proactive.call("POST", "/api/callbacks", "anna", json={"number": "0901234567"})
        callback_id = body["callback"]["id"]
        status, body = await proactive.call("POST", f"/api/callbacks/{callback_id}/dial", "ben")
        assert (status, body["error_id"]) == (404, "callbacks.not_found")
        status, body = await proactive.call("POST", f"/api/callbacks/{callback_id}/dial", "anna")
        assert (status, body["error_id"]) == (503, "pbx.unavailable")
        # Nothing was dialled, so the callback is still open.
        _, listed = await proactive.call("GET", "/api/callbacks", "anna")
        assert [c["status"] for c in listed["callbacks"]] == ["scheduled"]
        status, body = await proactive.call("POST", f"/api/callbacks/{callback_id}/done", "anna", json={})
        assert (status, body["callback"]["status"]) == (200, "done")
        status, body = await proactive.call("POST", f"/api/callbacks/{callback_id}/done", "anna", json={})
        assert status == 404


async def test_click_to_dial_needs_a_phone_and_refuses_what_is_not_a_number(proactive: Proactive) -> None:
    status, body = await proactive.call("POST", "/api/calls/dial", "sam", json={"number": "0901234567"})
    assert (status, body["details"]) == (422, {"agent": "you have no phone interface to call from"})
    status, body = await proactive.call("POST", "/api/calls/dial", "anna", json={"number": "0901\r\n234"})
    assert (status, body["error_id"]) == (422, "validation.failed")
    status, body = await proactive.call("POST", "/api/calls/dial", "anna", json={"number": "0901234567"})
    assert (status, body["error_id"]) == (503, "pbx.unavailable")
    response = await proactive.web.client.post("/api/calls/dial", json={"number": "0901234567"})
    assert response.status == 401


async def test_special_days_are_set_per_customer(proactive: Proactive) -> None:
    customer_id = await proactive.web.pool.fetchval(
        "INSERT INTO customers (name) VALUES ('Ann') RETURNING id"
    )
    path = f"/api/customers/{customer_id}/special-days"
    status, body = await proactive.call(
        "PUT", path, "anna", json={"anniversary": "2020-05-02", "greetings_opt_out": True}
    )
    assert (status, body["anniversary"], body["greetings_opt_out"]) == (200, "2020-05-02", True)
    row = await proactive.web.pool.fetchrow(
        "SELECT anniversary, greetings_opt_out FROM customers WHERE id = $1", customer_id
    )
    assert (row["anniversary"].isoformat(), row["greetings_opt_out"]) == ("2020-05-02", True)
    status, body = await proactive.call(
        "PUT", path, "anna", json={"anniversary": "2099-01-01", "greetings_opt_out": False}
    )
    assert (status, list(body["details"])) == (422, ["anniversary"])
    status, body = await proactive.call("PUT", path, "anna", json={"anniversary": None})
    assert (status, list(body["details"])) == (422, ["greetings_opt_out"])
    status, body = await proactive.call(
        "PUT",
        "/api/customers/999999/special-days",
        "anna",
        json={"anniversary": None, "greetings_opt_out": False},
    )
    assert (status, body["error_id"]) == (404, "customers.not_found")


REPORTS = ("volume", "workload", "service-times", "distribution")


@pytest.mark.parametrize("report", REPORTS)
async def test_reports_are_for_supervisors(proactive: Proactive, report: str) -> None:
    status, body = await proactive.call("GET", f"/api/reports/{report}", "anna")
    assert (status, body["error_id"]) == (403, "auth.forbidden")
    response = await proactive.web.client.get(f"/api/reports/{report}")
    assert response.status == 401


async def test_the_reports_over_a_chosen_period(proactive: Proactive) -> None:
    async with asyncio.timeout(20):
        ids = await proactive.web.pool.fetch(
            "SELECT id FROM agents WHERE username IN ('anna', 'ben') ORDER BY username"
        )
        await seed_known_tickets(proactive.web.pool, (ids[0]["id"], ids[1]["id"]))
        period = "?from=2026-12-01&to=2026-12-04"
        status, volume = await proactive.call("GET", "/api/reports/volume" + period, "sam")
        assert status == 200
        assert (volume["from"], volume["to"], volume["timezone"]) == (
            "2026-12-01",
            "2026-12-04",
            "Asia/Ho_Chi_Minh",
        )
        # Every day of the period, the quiet ones included.
        assert volume["by_day"] == [
            {"day": "2026-12-01", "tickets": 2},
            {"day": "2026-12-02", "tickets": 1},
            {"day": "2026-12-03", "tickets": 1},
            {"day": "2026-12-04", "tickets": 0},
        ]
        assert volume["by_channel"][0] == {"channel": "phone", "tickets": 2}
        _, workload = await proactive.call("GET", "/api/reports/workload" + period, "sam")
        assert [
            (a["agent"]["name"], a["open"], a["resolved"], a["avg_handling_s"]) for a in workload["agents"]
        ] == [
            ("Anna", 2, 1, 14400),
            ("Ben", 1, 1, 36000),
        ]
        _, times = await proactive.call("GET", "/api/reports/service-times" + period, "sam")
        assert [
            (c["category"], c["avg_first_response_s"], c["reopen_rate"]) for c in times["categories"]
        ] == [
            ("billing", 2700, 0.5),
            ("technical", 7200, 0.0),
        ]
        _, distribution = await proactive.call("GET", "/api/reports/distribution" + period, "sam")
        assert len(distribution["cells"]) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2026-13-01", "from"),
        ("?from=yesterday", "from"),
        ("?to=2026-12-01T00:00", "to"),
        ("?from=2026-12-05&to=2026-12-01", "from"),
        ("?from=2024-01-01&to=2026-12-01", "from"),
    ],
)
async def test_a_bad_report_period_is_refused(proactive: Proactive, query: str, field: str) -> None:
    status, body = await proactive.call("GET", "/api/reports/volume" + query, "sam")
    assert (status, body["error_id"]) == (422, "validation.failed")
    assert field in body["details"]


async def test_the_reports_page_is_served(proactive: Proactive) -> None:
    response = await proactive.web.client.get("/reports")
    assert response.status == 200
    assert "charts.js" in await response.text()


async def test_the_scheduler_started_with_the_app_pops_callbacks_that_are_due(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(20):
        app = build_web_app(load_settings(None, {}), pool, ami=None, hasher=FAST_HASHER, run_jobs=True)
        callbacks = app[PROACTIVE].callbacks
        callback = await callbacks.request_callback(None, "0901234567", None, "", "api")
        client = CheckedClient(TestServer(app))
        await client.start_server()
        try:
            # The job runs once at start-up; no agent exists, so it is kept for the team.
            async def offered() -> bool:
                status = await pool.fetchval("SELECT status FROM callbacks WHERE id = $1", callback.id)
                return bool(status == "offered")

            await eventually(offered, timeout_s=10)
        finally:
            await client.close()
