"""The staff pages' shared sign-in (static/page.js) in Chromium: the tab's token, roles, an ended session."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, Page, expect

from agents import Role
from tests.app_fixtures import Web

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.timeout(60)]


async def page_with_token(browser: Browser, token: str) -> tuple[Page, list[str]]:
    """A page whose tab already holds `token`, as after signing in on the desktop."""
    context = await browser.new_context()
    await context.add_init_script(f"sessionStorage.setItem('hotline.token', {json.dumps(token)});")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


async def test_the_tabs_token_signs_a_supervisor_in_and_an_ended_session_says_so(
    browser: Browser, web: Web
) -> None:
    sam = await web.agent("sam", Role.SUPERVISOR)
    token = await web.token("sam")
    page, errors = await page_with_token(browser, token)
    await page.goto(str(web.client.make_url("/reports")))
    await expect(page.get_by_test_id("period-message")).to_contain_text("Showing")
    await expect(page.locator("#who")).to_have_text(sam.display_name)
    await expect(page.locator("#signin")).to_be_hidden()

    revoked = await web.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status == 204, await revoked.text()
    await page.get_by_test_id("period-apply").click()
    await expect(page.locator("#signin-message")).to_have_text("Your session ended; please sign in again.")
    await expect(page.locator("#reports")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('hotline.token')") is None
    assert errors == []


async def test_an_agents_token_in_the_tab_is_refused_by_a_supervisor_page(browser: Browser, web: Web) -> None:
    await web.agent("anna")
    page, errors = await page_with_token(browser, await web.token("anna"))
    await page.goto(str(web.client.make_url("/reports")))
    await expect(page.locator("#signin-message")).to_have_text("The reports are for supervisors.")
    await expect(page.locator("#reports")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('hotline.token')") is None
    assert errors == []
