"""The supervisors' report page in Chromium: it signs in, takes a period and draws its charts."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from agents import Role
from tests.app_fixtures import Web
from tests.db.test_report_store import seed_known_tickets

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.timeout(90)]


async def test_the_reports_page_draws_the_charts_of_the_chosen_period(browser: Browser, web: Web) -> None:
    anna = await web.agent("anna")
    ben = await web.agent("ben")
    await web.agent("sam", Role.SUPERVISOR)
    await seed_known_tickets(web.pool, (anna.id, ben.id))
    page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(web.client.make_url("/reports")))
    await page.fill("#signin-username", "sam")
    await page.fill("#signin-password", "sam-password")
    await page.click("#signin-form button[type=submit]")
    await expect(page.get_by_test_id("period-message")).to_contain_text("Showing")

    await page.get_by_test_id("period-from").fill("2026-12-01")
    await page.get_by_test_id("period-to").fill("2026-12-04")
    await page.get_by_test_id("period-apply").click()
    await expect(page.get_by_test_id("period-message")).to_have_text(
        "Showing 2026-12-01 to 2026-12-04 (Asia/Ho_Chi_Minh days)."
    )

    per_day = page.get_by_test_id("chart-volume-day")
    await expect(per_day.locator("svg circle.chart-dot")).to_have_count(4)
    await expect(per_day.locator("svg circle.chart-dot").first.locator("title")).to_have_text("12-01: 2")
    await expect(per_day.locator("svg")).to_have_attribute("role", "img")
    categories = page.get_by_test_id("chart-volume-category")
    await expect(categories.locator("svg rect.chart-bar")).to_have_count(2)
    await expect(categories.locator("table caption")).to_have_text("Tickets per category")
    await expect(categories.locator("table tbody tr")).to_have_count(2)
    # Workload: open and resolved stacked per handler; the table has the handling times.
    await expect(page.get_by_test_id("chart-workload").locator("rect.chart-bar")).to_have_count(4)
    await expect(page.get_by_test_id("chart-workload").locator(".chart-legend li")).to_have_text(
        ["Open now", "Resolved"]
    )
    await expect(page.get_by_test_id("workload-table").locator("tbody tr").first).to_contain_text("Anna")
    await expect(page.get_by_test_id("workload-table").locator("tbody tr").first).to_contain_text("4.0 h")
    await expect(page.get_by_test_id("times-table").locator("tbody tr").first).to_contain_text("50.0%")
    distribution = page.get_by_test_id("chart-distribution")
    await expect(distribution.locator("rect.chart-bar")).to_have_count(4)
    await expect(distribution.locator(".chart-legend li")).to_have_count(3)
    # An empty period says so instead of drawing empty axes.
    await page.get_by_test_id("period-from").fill("2025-01-01")
    await page.get_by_test_id("period-to").fill("2025-01-02")
    await page.get_by_test_id("period-apply").click()
    await expect(categories).to_contain_text("No tickets in this period.")
    assert errors == []


async def test_an_agent_is_told_the_reports_are_for_supervisors(browser: Browser, web: Web) -> None:
    await web.agent("anna")
    page = await (await browser.new_context()).new_page()
    await page.goto(str(web.client.make_url("/reports")))
    await page.fill("#signin-username", "anna")
    await page.fill("#signin-password", "anna-password")
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#signin-message")).to_have_text("The reports are for supervisors.")
    await expect(page.locator("#reports")).to_be_hidden()
