"""Promised callbacks on the agent desktop, in Chromium against the real server and the PBX simulator."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from cti.ami_protocol import AmiMessage
from tests.app_fixtures import Desk
from tests.browser.test_desktop import signed_in
from tests.conftest import eventually
from web_agent.proactive_api import PROACTIVE

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.timeout(90)]
# Every dial is busy at once: the simulator answers with the recorded failure OriginateResponse,
# which carries the ChannelId Hotline gave the call.
BUSY_DIALS = {"originate_answer_share": 0.0, "originate_busy_share": 1.0, "originate_ring_s": 0.05}


@pytest.mark.parametrize("desk", [BUSY_DIALS], indirect=True)
async def test_a_promised_callback_pops_when_due_and_dial_back_places_the_originate(
    browser: Browser, desk: Desk
) -> None:
    assert desk.app is not None
    callbacks = desk.app[PROACTIVE].callbacks
    responses = _originate_responses(desk)
    page = await signed_in(browser, desk, "alice")
    panel = page.get_by_test_id("callbacks-panel")
    await panel.get_by_test_id("callback-new").click()
    await panel.get_by_test_id("callback-number").fill("0555 000 111")
    # This minute, in the browser's own zone: due as soon as it is saved.
    now_local = await page.evaluate(
        "() => { const d = new Date(); return new Date(d.getTime() - d.getTimezoneOffset() * 60000)"
        ".toISOString().slice(0, 16); }"
    )
    await panel.get_by_test_id("callback-when").fill(now_local)
    await panel.get_by_test_id("callback-note").fill("Wants the new price list")
    await panel.get_by_test_id("callback-save").click()
    item = panel.get_by_test_id("callback-item")
    await expect(item).to_have_attribute("data-status", "scheduled")
    await expect(item).to_contain_text("0555000111")

    # The due-callbacks job (APScheduler in production) finds it: it pops on alice's desktop.
    async with asyncio.timeout(10):
        assert await callbacks.run_once() == 1
    await expect(item).to_have_attribute("data-status", "offered")
    await expect(item).to_contain_text("Due now")
    await expect(page.locator("#announcer")).to_contain_text("Callback due: 0555000111")

    await item.get_by_test_id("callback-dial").click()
    await expect(item).to_have_count(0)
    async with asyncio.timeout(10):
        # The recorded calls the simulator plays have OriginateResponses of their own; this one is ours.
        await eventually(lambda: any("Uniqueid: ctd-" in r for r in responses), timeout_s=10)
    status = await desk.pool.fetchval("SELECT status FROM callbacks")
    assert status == "done"


def _originate_responses(desk: Desk) -> list[str]:
    """The OriginateResponse frames the simulator sends Hotline, as text, as they come."""
    responses: list[str] = []

    def on_frame(name: str, frame: AmiMessage | bytes, at: float) -> None:
        if name == "OriginateResponse" and isinstance(frame, bytes):
            responses.append(frame.decode())

    desk.simulator.on_frame_sent(on_frame)
    return responses


@pytest.mark.parametrize("desk", [{"ring_s": 2.5, "talk_s": 10.0, **BUSY_DIALS}], indirect=True)
async def test_a_screen_pop_offers_dial_back_and_call_back_at_with_the_callers_number(
    browser: Browser, desk: Desk
) -> None:
    responses = _originate_responses(desk)
    page = await signed_in(browser, desk, "alice")
    await desk.simulator.place_call(number="0901234567", name="Jane Doe", scenario="answered")
    card = page.get_by_test_id("pop-card").first
    await card.get_by_test_id("pop-dial").click()
    await expect(card.get_by_test_id("pop-dial-status")).to_contain_text("Calling 0901234567")
    async with asyncio.timeout(10):
        # The recorded calls the simulator plays have OriginateResponses of their own; this one is ours.
        await eventually(lambda: any("Uniqueid: ctd-" in r for r in responses), timeout_s=10)
    await card.get_by_test_id("pop-callback").click()
    panel = page.get_by_test_id("callbacks-panel")
    await expect(panel.get_by_test_id("callback-number")).to_have_value("0901234567")
    await panel.get_by_test_id("callback-save").click()
    await expect(panel.get_by_test_id("callback-item")).to_contain_text("Jane Doe")


@pytest.mark.parametrize("desk", [{"ring_s": 2.5, "talk_s": 10.0}], indirect=True)
async def test_the_customer_page_offers_call_back_at_with_the_customers_number(
    browser: Browser, desk: Desk
) -> None:
    page = await signed_in(browser, desk, "alice")
    await desk.simulator.place_call(number="0901234567", name="Jane Doe", scenario="answered")
    await page.get_by_test_id("pop-card").first.get_by_test_id("customer-page-link").click()
    view = page.get_by_test_id("customer-view")
    await expect(view).to_be_visible()
    await view.get_by_test_id("customer-callback").click()
    # The drawer covers the Callbacks panel, so the form opens in the drawer, under the button.
    form = view.get_by_test_id("callback-form")
    await expect(form).to_be_visible()
    await expect(form.get_by_test_id("callback-number")).to_have_value("+84901234567")
    await form.get_by_test_id("callback-note").fill("Call about the refund")
    await form.get_by_test_id("callback-save").click()
    await expect(form).to_be_hidden()
    item = page.get_by_test_id("callbacks-panel").get_by_test_id("callback-item")
    await expect(item).to_contain_text("Jane Doe")
    await expect(item).to_contain_text("Call about the refund")
