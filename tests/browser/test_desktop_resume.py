"""A network blip on the agent desktop in a real Chromium: the pop sent meanwhile shows once, after the resume."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.app_fixtures import ALICE, Desk
from tests.browser.test_desktop import SLOW_CALLS, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.mark.parametrize("desk", [SLOW_CALLS], indirect=True)
async def test_a_pop_sent_while_the_socket_was_down_arrives_once_after_the_resume(
    browser: Browser, desk: Desk
) -> None:
    alice = await signed_in(browser, desk, "alice")
    scope = await alice.evaluate("window.Hotline.state.scope")
    assert scope
    # The blip: the browser's socket goes away; the desktop reconnects by itself a second later.
    await alice.evaluate("window.Hotline.state.socket.close()")
    call_id = await desk.simulator.place_call(
        number="0901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
    )
    card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await expect(card).to_be_visible()
    await expect(card.locator("[data-testid=customer-name]")).to_have_text("Jane Doe")
    await expect(alice.locator("#connection-status")).to_have_attribute("data-state", "live")
    assert await alice.evaluate("window.Hotline.state.scope") == scope  # resumed, not a fresh stream
    await expect(card.locator("[data-testid=pop-status]")).to_have_text("On call")
    await expect(alice.locator("[data-testid=pop-card]")).to_have_count(1)
