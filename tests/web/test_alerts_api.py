"""The alarm endpoints through the whole application: roles, the feed, ack and snooze, watches, errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from agents import Role
from hotline.app import ALARM_WORK
from tests.app_fixtures import Web
from tests.conftest import eventually

pytestmark = pytest.mark.db
TIMEOUT_S = 20


async def breached_ticket(pool: asyncpg.Pool, subject: str, assignee: int | None, hours_ago: float) -> int:
    """An open ticket assigned to `assignee` whose deadlines passed `hours_ago` hours ago."""
    now = datetime.now(UTC)
    return int(
        await pool.fetchval(
            """
            INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_tier,
                                 tier_rank, top_tier, assignee_id, created_at, updated_at,
                                 first_response_due, resolution_due)
            VALUES ('assigned', $1, 'billing', 'phone', 'normal', 1, 'standard', 0, false, $2, $3, $3, $4, $4)
            RETURNING id
            """,
            subject,
            assignee,
            now - timedelta(hours=hours_ago + 1),
            now - timedelta(hours=hours_ago),
        )
    )


async def swept(web: Web) -> None:
    await web.client.app[ALARM_WORK].sweeper.run_once()
    # The scheduled sweep may hold the lease on a row; wait for its writes too.
    await eventually(
        lambda: web.pool.fetchval("SELECT count(*) = 0 FROM ticket_escalations WHERE check_at <= now()"), 10
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_supervisors_see_every_alert_and_agents_only_their_own(web: Web) -> None:
    alice = await web.agent("alice")
    bob = await web.agent("bob")
    await web.agent("sue", Role.SUPERVISOR)
    async with asyncio.timeout(TIMEOUT_S):
        mine = await breached_ticket(web.pool, "Alice's ticket", alice.id, 2)
        theirs = await breached_ticket(web.pool, "Bob's ticket", bob.id, 1)
        await swept(web)
        sue, alice_token = await web.token("sue"), await web.token("alice")
        response = await web.client.get("/api/alerts", headers=auth(sue))
        assert response.status == 200
        alerts = (await response.json())["alerts"]
        assert {a["ticket_id"] for a in alerts} == {mine, theirs}
        breach = next(a for a in alerts if a["kind"] == "breach" and a["ticket_id"] == mine)
        assert breach["agent_id"] == alice.id
        assert [d["channel"] for d in breach["deliveries"]] == ["live"]
        own = (await (await web.client.get("/api/alerts", headers=auth(alice_token))).json())["alerts"]
        assert own
        assert {a["agent_id"] for a in own} == {alice.id}
        bobs = next(a for a in alerts if a["ticket_id"] == theirs and a["agent_id"] == bob.id)
        for path in (f"/api/alerts/{bobs['id']}", f"/api/alerts/{bobs['id']}/ack"):
            method = web.client.get if path.endswith(str(bobs["id"])) else web.client.post
            refused = await method(path, headers=auth(alice_token))
            assert refused.status == 404
            assert (await refused.json())["error_id"] == "alerts.not_found"
        acked = await web.client.post(f"/api/alerts/{own[0]['id']}/ack", headers=auth(alice_token))
        assert acked.status == 200
        assert (await acked.json())["alert"]["acknowledged_by"] == alice.id


async def test_escalated_tickets_longest_past_breach_first_and_ack_and_snooze(web: Web) -> None:
    alice = await web.agent("alice")
    await web.agent("sue", Role.SUPERVISOR)
    async with asyncio.timeout(TIMEOUT_S):
        recent = await breached_ticket(web.pool, "Recent", alice.id, 1)
        old = await breached_ticket(web.pool, "Old", alice.id, 30)
        await swept(web)
        sue = await web.token("sue")
        escalations = (await (await web.client.get("/api/escalations", headers=auth(sue))).json())[
            "escalations"
        ]
        assert [e["ticket_id"] for e in escalations] == [old, recent]
        assert escalations[0]["past_breach_s"] >= 30 * 3600
        alerts = (await (await web.client.get("/api/alerts", headers=auth(sue))).json())["alerts"]
        first = next(a for a in alerts if a["ticket_id"] == old)
        bad = await web.client.post(
            f"/api/alerts/{first['id']}/snooze", json={"minutes": 0}, headers=auth(sue)
        )
        assert bad.status == 422
        assert (await bad.json())["details"] == {"minutes": "a whole number from 1 to 10080"}
        snoozed = await web.client.post(
            f"/api/alerts/{first['id']}/snooze", json={"minutes": 45}, headers=auth(sue)
        )
        assert snoozed.status == 200
        until = datetime.fromisoformat((await snoozed.json())["alert"]["snoozed_until"])
        assert timedelta(minutes=44) < until - datetime.now(UTC) <= timedelta(minutes=45)
        default = await web.client.post(f"/api/alerts/{first['id']}/snooze", headers=auth(sue))
        assert default.status == 200
        await web.client.post(f"/api/alerts/{first['id']}/ack", headers=auth(sue))
        escalations = (await (await web.client.get("/api/escalations", headers=auth(sue))).json())[
            "escalations"
        ]
        assert escalations[0]["acknowledged_at"] is not None
        assert escalations[1]["acknowledged_at"] is None
        missing = await web.client.post("/api/alerts/999999/ack", headers=auth(sue))
        assert missing.status == 404


async def test_watching_a_customer(web: Web) -> None:
    olivia = await web.agent("olivia")
    await web.agent("sue", Role.SUPERVISOR)
    jane = await web.pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C1', 'Jane Doe', 'gold') RETURNING id"
    )
    async with asyncio.timeout(TIMEOUT_S):
        sue = await web.token("sue")
        for body, field in (
            ({"owner_agent_id": olivia.id}, "customer_id"),
            ({"customer_id": jane, "owner_agent_id": "x"}, "owner_agent_id"),
            (
                {"customer_id": jane, "owner_agent_id": olivia.id, "owner_email": "a@b\r\nBcc: x@y"},
                "owner_email",
            ),
        ):
            refused = await web.client.post("/api/watched-customers", json=body, headers=auth(sue))
            assert refused.status == 422
            assert field in (await refused.json())["details"]
        unknown = await web.client.post(
            "/api/watched-customers",
            json={"customer_id": 424242, "owner_agent_id": olivia.id},
            headers=auth(sue),
        )
        assert unknown.status == 404
        assert (await unknown.json())["error_id"] == "alerts.customer_not_watchable"
        created = await web.client.post(
            "/api/watched-customers",
            json={
                "customer_id": jane,
                "owner_agent_id": olivia.id,
                "owner_email": "olivia@example.com",
                "note": "Key account",
            },
            headers=auth(sue),
        )
        assert created.status == 201
        watched = (await (await web.client.get("/api/watched-customers", headers=auth(sue))).json())[
            "watched"
        ]
        assert [(w["customer_name"], w["owner_name"], w["note"]) for w in watched] == [
            ("Jane Doe", "Olivia", "Key account")
        ]
        assert (await web.client.delete(f"/api/watched-customers/{jane}", headers=auth(sue))).status == 204
        again = await web.client.delete(f"/api/watched-customers/{jane}", headers=auth(sue))
        assert again.status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/escalations"),
        ("GET", "/api/watched-customers"),
        ("POST", "/api/watched-customers"),
        ("DELETE", "/api/watched-customers/1"),
    ],
)
async def test_supervisor_endpoints_refuse_agents_and_strangers(web: Web, method: str, path: str) -> None:
    await web.agent("alice")
    async with asyncio.timeout(TIMEOUT_S):
        stranger = await web.client.request(method, path)
        assert stranger.status == 401
        agent = await web.client.request(method, path, headers=auth(await web.token("alice")), json={})
        assert agent.status == 403
        assert (await agent.json())["error_id"] == "auth.forbidden"


async def test_the_supervisor_page_is_served(web: Web) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        response = await web.client.get("/supervisor")
        assert response.status == 200
        assert "Alarms" in await response.text()
