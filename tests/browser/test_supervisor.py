"""The alarm page in a real Chromium: a supervisor sees an alert appear live and acknowledges it."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from agents import Role
from hotline.app import ALARM_WORK
from tests.app_fixtures import Web
from tests.web.test_alerts_api import breached_ticket

pytestmark = [pytest.mark.browser, pytest.mark.db]


async def test_a_supervisor_sees_an_alert_appear_live_and_acknowledges_it(browser: Browser, web: Web) -> None:
    alice = await web.agent("alice")
    await web.agent("sue", Role.SUPERVISOR)
    page = await (await browser.new_context(viewport={"width": 1600, "height": 1000})).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(web.client.make_url("/supervisor")))
    await page.fill("#signin-username", "sue")
    await page.fill("#signin-password", "sue-password")
    await page.click("#signin-form button[type=submit]")
    await expect(page.get_by_test_id("alarm-live")).to_have_attribute("data-state", "live")
    await expect(page.get_by_test_id("alert")).to_have_count(0)
    await expect(page.get_by_test_id("alarm-badge")).to_be_hidden()

    # The deadlines of Alice's ticket passed an hour ago: the next sweep raises the alarms.
    ticket = await breached_ticket(web.pool, "Router keeps rebooting", alice.id, 1)
    async with asyncio.timeout(10):
        await web.client.app[ALARM_WORK].sweeper.run_once()
    breach = page.get_by_test_id("alert").filter(has_text="first response deadline passed")
    await expect(breach).to_have_count(1)
    await expect(breach.get_by_test_id("alert-title")).to_contain_text(f"Ticket #{ticket}")
    await expect(breach.get_by_test_id("alert-title")).to_contain_text("Router keeps rebooting")
    await expect(breach.locator(".delivery[data-channel=live]")).to_have_attribute("data-status", "sent")
    # Both deadlines passed (and, in office hours, the team lead was told): each alert shows, once.
    before = await web.pool.fetchval("SELECT count(*) FROM alerts")
    assert before >= 2
    await expect(page.get_by_test_id("alert")).to_have_count(before)
    badge = page.get_by_test_id("alarm-badge")
    await expect(badge).to_have_text(str(before))
    await expect(page.get_by_test_id("escalated-ticket")).to_have_count(1)

    await breach.get_by_test_id("ack").click()
    await expect(breach).to_have_attribute("data-acknowledged", "true")
    await expect(breach.get_by_test_id("alert-meta")).to_contain_text("acknowledged")
    await expect(badge).to_have_text(str(before - 1))
    await expect(page.get_by_test_id("escalated-ticket").locator("td").last).to_have_text("yes")
    acked_by = await web.pool.fetchval(
        "SELECT acknowledged_by FROM alerts WHERE ticket_id = $1 AND acknowledged_at IS NOT NULL", ticket
    )
    assert acked_by is not None
    assert errors == []


async def test_the_desktop_links_supervisors_to_the_alarm_page(browser: Browser, web: Web) -> None:
    await web.agent("sue", Role.SUPERVISOR)
    page = await (await browser.new_context()).new_page()
    await page.goto(str(web.client.make_url("/")))
    await page.fill("#username", "sue")
    await page.fill("#password", "sue-password")
    await page.click("#login-submit")
    link = page.get_by_test_id("nav-supervisor")
    await expect(link).to_be_visible()
    await link.click()
    # The desktop's sign-in carries over: straight to the feed.
    await expect(page.get_by_test_id("alarm-live")).to_have_attribute("data-state", "live")
