"""One sign-in for every staff page of a browser (static/page.js), in Chromium against the real server.

A staff member who signed in once is signed in on each page they open from there, in the same tab
or a new one; signing out in one tab signs every tab out and ends their live streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from agents import Role
from tests.app_fixtures import ALICE, Desk, Web
from tests.browser.test_desktop import SLOW_CALLS
from tests.conftest import eventually
from web_agent.app import SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.db]

SUPERVISOR_PAGES = [
    # (top bar link, the page's signed-in view)
    ("nav-wallboard", "#wb-board"),
    ("nav-campaigns", "#board"),
    ("nav-supervisor", "#board"),
    ("nav-reports", "#reports"),
    ("nav-kb", "#workspace"),
]


@dataclass
class Tabs:
    """One browser profile (its tabs share the origin's pages) and the script errors of all its tabs."""

    context: BrowserContext
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[Tabs]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    tabs = Tabs(context)
    context.on("weberror", lambda error: tabs.errors.append(str(error.error)))
    try:
        yield tabs
    finally:
        await context.close()


async def desktop(tabs: Tabs, base_url: str, username: str) -> Page:
    """The agent desktop in a new tab, signed in with the username's test password."""
    page = await tabs.context.new_page()
    await page.goto(base_url)
    await page.fill("#username", username)
    await page.fill("#password", f"{username}-password")
    await page.click("#login-submit")
    await expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    return page


async def open_in_new_tab(tabs: Tabs, page: Page, test_id: str) -> Page:
    """Ctrl+click a top bar link, as a supervisor does to keep the desktop open beside it."""
    async with tabs.context.expect_page() as opened:
        await page.get_by_test_id(test_id).click(modifiers=["ControlOrMeta"])
    tab = await opened.value
    await tab.wait_for_load_state("domcontentloaded")
    return tab


@pytest.mark.parametrize("desk", [SLOW_CALLS], indirect=True)
async def test_a_supervisor_signed_in_on_the_desktop_opens_the_wallboard_in_a_new_tab_without_signing_in(
    desk: Desk, tabs: Tabs
) -> None:
    await desk.client.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    page = await desktop(tabs, str(desk.client.make_url("/")), "carol")
    board = await open_in_new_tab(tabs, page, "nav-wallboard")
    assert board is not page
    await expect(board.locator("#wb-status")).to_have_attribute("data-state", "live")
    await expect(board.locator("#wb-board")).to_be_visible()
    await expect(board.locator("#wb-login")).to_be_hidden()
    alice_row = board.locator(f'#wb-agents tr[data-interface="{ALICE}"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")
    # The board is live: a call moves alice's row.
    await desk.simulator.place_call(number="0901234567", name="Jane Doe", scenario="answered", agents=[ALICE])
    await expect(alice_row.locator("[data-role=state]")).to_have_text("On call")
    # The desktop tab is still signed in and live beside it.
    await expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    assert tabs.errors == []


async def test_every_staff_page_opened_from_the_desktop_is_signed_in(web: Web, tabs: Tabs) -> None:
    await web.agent("sue", Role.SUPERVISOR)
    page = await desktop(tabs, str(web.client.make_url("/")), "sue")
    for link, view in SUPERVISOR_PAGES:
        tab = await open_in_new_tab(tabs, page, link)
        await expect(tab.locator(view)).to_be_visible()
        if link != "nav-wallboard":
            await expect(tab.locator("#who")).to_contain_text("Sue")
            await expect(tab.locator("#signin")).to_be_hidden()
        await tab.close()
    # And the other way round: signed in on a page, the desktop opened in a new tab is signed in too.
    other = await tabs.context.new_page()
    await other.goto(str(web.client.make_url("/")))
    await expect(other.locator("#connection-status")).to_have_attribute("data-state", "live")
    await expect(other.locator("#agent-name")).to_have_text("Sue")
    assert tabs.errors == []


async def test_an_agent_handed_the_sign_in_is_still_refused_by_a_supervisor_page(
    web: Web, tabs: Tabs
) -> None:
    await web.agent("anna")
    page = await desktop(tabs, str(web.client.make_url("/")), "anna")
    wallboard = await tabs.context.new_page()
    await wallboard.goto(str(web.client.make_url("/wallboard")))
    await expect(wallboard.locator("#wb-login-error")).to_have_text("The wallboard is for supervisors.")
    await expect(wallboard.locator("#wb-board")).to_be_hidden()
    # The refusal is the wallboard's alone: the desktop keeps its session.
    await page.reload()
    await expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    assert tabs.errors == []


async def test_signing_out_in_one_tab_signs_out_every_tab_and_ends_their_streams(
    desk: Desk, tabs: Tabs
) -> None:
    services = desk.client.app[SERVICES]
    carol = await services.accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    page = await desktop(tabs, str(desk.client.make_url("/")), "carol")
    board = await open_in_new_tab(tabs, page, "nav-wallboard")
    await expect(board.locator("#wb-status")).to_have_attribute("data-state", "live")
    token = await page.evaluate("sessionStorage.getItem('hotline.token')")
    assert token
    assert await board.evaluate("sessionStorage.getItem('hotline.token')") == token
    assert services.hub.online(carol.id)

    await page.click("#sign-out")
    await expect(page.locator("#login-view")).to_be_visible()
    await expect(board.locator("#wb-login")).to_be_visible()
    await expect(board.locator("#wb-login-error")).to_have_text("You signed out in another Hotline tab.")
    await expect(board.locator("#wb-board")).to_be_hidden()
    await expect(board.locator("#wb-status")).to_have_attribute("data-state", "offline")
    for tab in (page, board):
        assert await tab.evaluate("sessionStorage.getItem('hotline.token')") is None
    # Both streams are closed on the server, and the token no longer opens anything.
    await eventually(lambda: not services.hub.online(carol.id))
    me = await desk.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 401
    assert tabs.errors == []
