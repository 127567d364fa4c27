"""Outbound campaigns in a real Chromium: the supervisor's page and the agent's outbound call."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from agents import Role
from tests.app_fixtures import Desk
from tests.browser.test_desktop import signed_in
from web_agent.app import SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.db]
DIALS_ANSWERED = {
    "ring_s": 0.3,
    "talk_s": 2.0,
    "originate_answer_share": 1.0,
    "originate_busy_share": 0.0,
    "originate_ring_s": 0.2,
}
LEADS_CSV = b"phone,name\n0901234567,Jane Doe\n0901234568,Jane Doe\n12345,Broken Number\n"


@pytest.mark.parametrize("desk", [DIALS_ANSWERED], indirect=True)
async def test_supervisor_starts_a_campaign_and_the_agent_takes_and_closes_its_call(
    browser: Browser, desk: Desk
) -> None:
    await desk.client.server.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    board = await (await browser.new_context(viewport={"width": 1600, "height": 900})).new_page()
    errors: list[str] = []
    board.on("pageerror", lambda error: errors.append(str(error)))
    await board.goto(str(desk.client.make_url("/campaigns")))
    await board.fill("#signin-username", "carol")
    await board.fill("#signin-password", "carol-password")
    await board.click("#signin-form button[type=submit]")
    form = board.locator("#new-campaign")
    await form.locator("input[name=name]").fill("Winter offers")
    await form.locator("input[name=queue]").fill("support")
    await form.locator("select[name=dial_method]").select_option("progressive")
    await form.locator("input[name=caller_id]").fill('"Hotline Shop" <0281234567>')
    await form.locator("input[name=window_start]").fill("00:00")
    await form.locator("input[name=window_end]").fill("23:59")
    await form.locator("textarea[name=script]").fill("Offer the winter plan to {name}.")
    await form.locator("button[type=submit]").click()
    row = board.locator("[data-testid=campaign-row]", has_text="Winter offers")
    await expect(row.locator("[data-testid=campaign-state]")).to_have_text("Paused")
    await row.locator("[data-testid=leads-file]").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": LEADS_CSV}]
    )
    report = board.locator("[data-testid=import-report]")
    await expect(report).to_contain_text("1 leads added, 0 updated, 1 merged, 1 refused")
    await expect(report).to_contain_text("line 4: refused: bad number '12345'")
    await row.locator("[data-testid=set-running]").click()
    await expect(row.locator("[data-testid=campaign-state]")).to_have_text("Running")

    alice = await signed_in(browser, desk, "alice")
    panel = alice.locator("[data-testid=outbound-panel]")
    await expect(panel.locator("[data-testid=campaign-select]")).to_contain_text("Winter offers")
    await panel.locator("[data-testid=campaign-join]").click()
    call = panel.locator("[data-testid=outbound-call]")
    await expect(call).to_be_visible(timeout=20_000)
    await expect(call.locator("[data-testid=outbound-lead-name]")).to_have_text("Jane Doe")  # the customer
    await expect(call.locator("[data-testid=outbound-script]")).to_have_text(
        "Offer the winter plan to {name}."
    )
    call_id = await call.get_attribute("data-call-id")
    await expect(alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')).to_have_attribute(
        "data-direction", "outbound"
    )
    await expect(row.locator("[data-testid=answered]")).to_have_text("1", timeout=10_000)
    await expect(row.locator("[data-testid=agents]")).to_have_text("1 / 0")
    await call.locator("[data-testid=disposition]").select_option("sale")
    await call.locator("[data-testid=disposition-save]").click()
    await expect(call).to_have_count(0)
    lead = await desk.pool.fetchrow("SELECT status, disposition FROM leads")
    assert dict(lead) == {"status": "done", "disposition": "sale"}
    await expect(row.locator("[data-testid=leads-left]")).to_have_text("0 of 1")
    assert errors == []
