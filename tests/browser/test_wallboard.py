"""The wallboard and the agent's pause button in a real Chromium against the real server and simulator."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from agents import Role
from tests.app_fixtures import ALICE, Desk
from tests.browser.test_desktop import SLOW_CALLS, signed_in
from web_agent.app import SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.db]


async def wallboard(browser: Browser, desk: Desk) -> Page:
    await desk.client.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    page = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(desk.client.make_url("/wallboard")))
    await page.fill("#wb-username", "carol")
    await page.fill("#wb-password", "carol-password")
    await page.click("#wb-login-submit")
    await expect(page.locator("#wb-status")).to_have_attribute("data-state", "live")
    assert errors == []
    return page


@pytest.mark.parametrize("desk", [SLOW_CALLS], indirect=True)
async def test_the_wallboard_updates_live_while_the_simulator_plays_a_call(
    browser: Browser, desk: Desk
) -> None:
    board = await wallboard(browser, desk)
    alice_row = board.locator(f'#wb-agents tr[data-interface="{ALICE}"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")
    await desk.simulator.place_call(number="0901234567", name="Jane Doe", scenario="answered", agents=[ALICE])
    tile = board.locator('[data-testid=queue-tile][data-queue="support"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("On call")
    await expect(tile.locator("[data-testid=on-call]")).to_have_text("1")
    await expect(tile.locator('[data-kpi="service_level-15m"]')).to_have_text("100%")
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready", timeout=15_000)
    await expect(tile.locator("[data-testid=forecast]")).to_contain_text("4 calls/h")


async def test_an_agent_pauses_with_a_reason_and_the_wallboard_shows_it(browser: Browser, desk: Desk) -> None:
    board = await wallboard(browser, desk)
    alice = await signed_in(browser, desk, "alice")
    bar = alice.locator("[data-testid=agent-state]")
    await expect(bar.locator("[data-testid=agent-state-label]")).to_have_text("Ready")
    await bar.locator("[data-testid=pause-reason]").select_option("Lunch")
    await bar.locator("[data-testid=pause-button]").click()
    await expect(bar.locator("[data-testid=agent-state-label]")).to_have_text("Paused – Lunch")
    alice_row = board.locator(f'#wb-agents tr[data-interface="{ALICE}"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Paused")
    await expect(alice_row.locator("[data-role=reason]")).to_have_text("Lunch")
    # Time in pause counts up on the wallboard between pushes.
    await expect(alice_row.locator("[data-role=for]")).to_have_text(re.compile(r"0:0[1-9]"))
    tile = board.locator('[data-testid=queue-tile][data-queue="support"]')
    await expect(tile.locator("[data-testid=paused]")).to_have_text("1")
    await bar.locator("[data-testid=ready-button]").click()
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")
    await expect(tile.locator("[data-testid=paused]")).to_have_text("0")


async def test_an_agent_logs_out_of_a_queue_and_back_in_from_the_desktop(
    browser: Browser, desk: Desk
) -> None:
    board = await wallboard(browser, desk)
    alice = await signed_in(browser, desk, "alice")
    bar = alice.locator("[data-testid=agent-state]")
    await expect(bar.locator("[data-testid=agent-queues]")).to_contain_text("support")
    await bar.locator('[data-queue="support"] button').click()
    await expect(bar.locator("[data-testid=agent-state-label]")).to_have_text("Not in a queue")
    alice_row = board.locator(f'#wb-agents tr[data-interface="{ALICE}"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Logged out")
    await bar.locator("[data-testid=queue-name]").fill("support")
    await bar.locator("[data-testid=join-queue]").click()
    await expect(bar.locator("[data-testid=agent-state-label]")).to_have_text("Ready")
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")
