"""The agent desktop in a real Chromium (Debian's, driven by Playwright) against the real server."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.app_fixtures import ALICE, BOB, Desk

pytestmark = [pytest.mark.browser, pytest.mark.db]
SLOW_CALLS = {"ring_s": 2.5, "talk_s": 3.0}


async def signed_in(browser: Browser, desk: Desk, username: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(desk.client.make_url("/")))
    await page.fill("#username", username)
    await page.fill("#password", f"{username}-password")
    await page.click("#login-submit")
    await expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    assert errors == []
    return page


@pytest.mark.parametrize("desk", [SLOW_CALLS], indirect=True)
async def test_ring_all_pops_the_customer_on_both_desks_and_retracts_the_loser(
    browser: Browser, desk: Desk
) -> None:
    alice = await signed_in(browser, desk, "alice")
    bob = await signed_in(browser, desk, "bob")
    call_id = await desk.simulator.place_call(
        number="0901234567", name="Jane Doe", scenario="ringall", agents=[BOB, ALICE]
    )
    for page in (alice, bob):
        card = page.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
        await expect(card).to_be_visible()
        await expect(card.locator("[data-testid=customer-name]")).to_have_text("Jane Doe")
        await expect(card.locator("[data-testid=customer-tier]")).to_contain_text("Gold", ignore_case=True)
        await expect(card.locator("[data-testid=caller-number]")).to_contain_text("0901234567")
    alice_card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    bob_card = bob.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await expect(alice_card.locator("[data-testid=pop-status]")).to_have_text("Answered by a colleague")
    await expect(bob_card.locator("[data-testid=pop-status]")).to_have_text("On call")
    await expect(bob.locator(f'#today-calls tbody tr[data-call-id="{call_id}"]')).to_have_count(
        1, timeout=15_000
    )


async def test_unknown_caller_gets_a_new_customer_form_that_creates_the_customer(
    browser: Browser, desk: Desk
) -> None:
    alice = await signed_in(browser, desk, "alice")
    call_id = await desk.simulator.place_call(
        number="0966123123", name="Mai Hoang", scenario="abandon", agents=[ALICE]
    )
    card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await card.locator("[data-testid=new-customer-button]").click()
    form = card.locator("[data-testid=new-customer-form]")
    await expect(form.locator("input[name=phone]")).to_have_value("0966123123")
    await form.locator("input[name=name]").fill("Mai Hoang")
    await form.locator("select[name=tier], input[name=tier]").first.select_option("vip")
    await form.locator("[data-role=save]").click()
    await expect(card.locator("[data-testid=customer-name]")).to_have_text("Mai Hoang")
    stored = await desk.pool.fetchrow(
        "SELECT c.name, c.tier FROM customers c JOIN customer_phones p ON p.customer_id = c.id"
        " WHERE p.phone = '+84966123123'"
    )
    assert dict(stored) == {"name": "Mai Hoang", "tier": "vip"}


async def test_wrong_password_is_explained_and_no_desktop_is_shown(browser: Browser, desk: Desk) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(str(desk.client.make_url("/")))
    await page.fill("#username", "alice")
    await page.fill("#password", "not-her-password")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_contain_text("Wrong username or password")
    await expect(page.locator("#desktop-view")).to_be_hidden()
