"""The campaign API through aiohttp's test client on a real PostgreSQL (no PBX attached)."""

from __future__ import annotations

import pytest

from agents import Role
from cti.pacing import PacingSettings
from tests.app_fixtures import Web

pytestmark = pytest.mark.db
CAMPAIGN = {
    "name": "Winter offers",
    "queue": "sales",
    "dial_method": "preview",
    "caller_id": '"Hotline Shop" <0281234567>',
    "script": "Offer the winter plan.",
    "window_start": "00:00",
    "window_end": "23:59",
}


async def signed_in(web: Web, username: str, role: Role, interfaces: tuple[str, ...] = ()) -> dict[str, str]:
    await web.agent(username, role, interfaces)
    return {"Authorization": f"Bearer {await web.token(username)}"}


async def test_a_supervisor_creates_loads_and_starts_a_campaign(web: Web) -> None:
    boss = await signed_in(web, "carol", Role.SUPERVISOR)
    created = await web.client.post("/api/campaigns", json=CAMPAIGN, headers=boss)
    assert created.status == 201, await created.text()
    campaign = (await created.json())["campaign"]
    assert campaign["state"] == "paused"
    csv = "phone,name,timezone\n0901234567,Nguyễn Văn An,\n0901234568,Nguyen Van An,\n12,Too Short,\n0912345678,Bình,Mars/Base\n"
    loaded = await web.client.post(
        f"/api/campaigns/{campaign['id']}/leads",
        data=csv.encode(),
        headers={**boss, "Content-Type": "text/csv"},
    )
    report = await loaded.json()
    assert (report["created"], report["updated"]) == (1, 0)
    assert [r["line"] for r in report["rejected"]] == [4, 5]
    assert report["merged"] == [
        {"line": 3, "into_line": 2, "reason": "the same name and a nearly identical number (+84901234567)"}
    ]
    started = await web.client.post(
        f"/api/campaigns/{campaign['id']}/state", json={"state": "running"}, headers=boss
    )
    assert (await started.json())["campaign"]["state"] == "running"
    listed = (await (await web.client.get("/api/campaigns", headers=boss)).json())["campaigns"]
    assert listed[0]["live"] == {
        "dialled_24h": 0,
        "answered_24h": 0,
        "dropped_24h": 0,
        "abandon_rate_24h": 0.0,
        "answered_30d": 0,
        "dropped_30d": 0,
        "abandon_rate_30d": 0.0,
        "agents_busy": 0,
        "agents_idle": 0,
        "in_flight": 0,
        "pacing_level": PacingSettings().initial_level,
        "answer_rate": 0.3,
        "capped": False,
        "leads_total": 1,
        "leads_remaining": 1,
    }


async def test_agents_may_not_manage_campaigns_and_bad_campaigns_list_their_problems(web: Web) -> None:
    agent = await signed_in(web, "alice", Role.AGENT, ("Local/1001@agents",))
    refused = await web.client.post("/api/campaigns", json=CAMPAIGN, headers=agent)
    assert (refused.status, (await refused.json())["error_id"]) == (403, "auth.forbidden")
    boss = await signed_in(web, "carol", Role.SUPERVISOR)
    bad = await web.client.post(
        "/api/campaigns",
        json={**CAMPAIGN, "caller_id": "x\r\nAction: Hangup", "dial_method": "robocall"},
        headers=boss,
    )
    body = await bad.json()
    assert (bad.status, body["error_id"]) == (422, "validation.failed")
    assert set(body["details"]) == {"dial_method"}
    missing = await web.client.post("/api/campaigns/999/state", json={"state": "running"}, headers=boss)
    assert (missing.status, (await missing.json())["error_id"]) == (404, "campaigns.not_found")


async def test_an_agent_joins_previews_skips_and_cannot_dial_without_a_pbx(web: Web) -> None:
    boss = await signed_in(web, "carol", Role.SUPERVISOR)
    agent = await signed_in(web, "alice", Role.AGENT, ("Local/1001@agents",))
    campaign = (await (await web.client.post("/api/campaigns", json=CAMPAIGN, headers=boss)).json())[
        "campaign"
    ]
    csv = "phone,name\n0901234567,An\n0987654321,Binh\n"
    await web.client.post(
        f"/api/campaigns/{campaign['id']}/leads",
        data=csv.encode(),
        headers={**boss, "Content-Type": "text/csv"},
    )
    base = f"/api/campaigns/{campaign['id']}"
    not_running = await web.client.post(f"{base}/join", headers=agent)
    assert not_running.status == 200
    paused = await web.client.get(f"{base}/preview", headers=agent)
    assert (paused.status, (await paused.json())["error_id"]) == (422, "validation.failed")
    await web.client.post(f"{base}/state", json={"state": "running"}, headers=boss)
    mine = await (await web.client.get("/api/campaigns/mine", headers=agent)).json()
    assert mine["joined"] == {"campaign_id": campaign["id"], "state": "free"}
    first = (await (await web.client.get(f"{base}/preview", headers=agent)).json())["lead"]
    assert first["name"] == "An"
    again = (await (await web.client.get(f"{base}/preview", headers=agent)).json())["lead"]
    assert again == first  # held for this agent until dialled or skipped
    await web.client.post(f"{base}/leads/{first['id']}/skip", headers=agent)
    second = (await (await web.client.get(f"{base}/preview", headers=agent)).json())["lead"]
    assert second["name"] == "Binh"
    wrong = await web.client.post(f"{base}/leads/{first['id']}/dial", headers=agent)
    assert (wrong.status, (await wrong.json())["error_id"]) == (409, "campaigns.not_diallable")
    dialled = await web.client.post(f"{base}/leads/{second['id']}/dial", headers=agent)
    assert dialled.status == 202  # accepted; without a PBX the Originate fails and the lead is retried
    rows = await web.pool.fetch("SELECT outcome FROM dial_attempts")
    assert [r["outcome"] for r in rows] == ["failed"]
    disposition = await web.client.post(
        f"/api/leads/{second['id']}/disposition", json={"disposition": "callback"}, headers=agent
    )
    assert (disposition.status, (await disposition.json())["error_id"]) == (422, "validation.failed")
    done = await web.client.post(
        f"/api/leads/{second['id']}/disposition",
        json={"disposition": "wrong_number", "note": "not Binh"},
        headers=agent,
    )
    assert (await done.json())["lead"]["status"] == "done"
    left = await web.client.post("/api/campaigns/leave", headers=agent)
    assert (await left.json())["joined"] is None


async def test_the_campaign_page_is_served(web: Web) -> None:
    page = await web.client.get("/campaigns")
    assert page.status == 200
    assert "campaigns.js" in await page.text()
