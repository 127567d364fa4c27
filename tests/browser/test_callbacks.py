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
    responses: list[str] = []

    def on_frame(name: str, frame: AmiMessage | bytes, at: float) -> None:
        if name == "OriginateResponse":
            raw = frame if isinstance(frame, bytes) else b""
            responses.append(raw.decode())

    desk.simulator.on_frame_sent(on_frame)
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
        await eventually(lambda: len(responses) == 1, timeout_s=10)
    assert "Uniqueid: ctd-" in responses[0]
    status = await desk.pool.fetchval("SELECT status FROM callbacks")
    assert status == "done"


@pytest.mark.parametrize("desk", [{"ring_s": 2.5, "talk_s": 10.0}], indirect=True)
async def test_a_screen_pop_offers_call_back_at_with_the_callers_number(browser: Browser, desk: Desk) -> None:
    page = await signed_in(browser, desk, "alice")
    await desk.simulator.place_call(number="0901234567", name="Jane Doe", scenario="answered")
    card = page.get_by_test_id("pop-card").first
    await card.get_by_test_id("pop-callback").click()
    panel = page.get_by_test_id("callbacks-panel")
    await expect(panel.get_by_test_id("callback-number")).to_have_value("0901234567")
    await panel.get_by_test_id("callback-save").click()
    await expect(panel.get_by_test_id("callback-item")).to_contain_text("Jane Doe")
