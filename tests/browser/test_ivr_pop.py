"""The agent sees on the pop card what the caller did in the IVR (real Chromium, real server)."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from hotline.app import IVR_SERVER
from tests.app_fixtures import ALICE, running_desk
from tests.browser.test_desktop import SLOW_CALLS, signed_in
from tests.conftest import eventually
from tests.protocol.fake_agi import ScriptedAsterisk

pytestmark = [pytest.mark.browser, pytest.mark.db]


async def test_the_pop_card_shows_the_ivr_path(browser: Browser, pool: asyncpg.Pool) -> None:
    environ = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": "0"}
    async with running_desk(pool, SLOW_CALLS, environ) as desk:
        assert desk.app is not None
        alice = await signed_in(browser, desk, "alice")
        # Jane asks for a callback first, then calls again and picks an agent.
        await ScriptedAsterisk(keys=["5"], caller_number="+84901234567", linked_id="a", unique_id="a.1").call(
            desk.app[IVR_SERVER].port
        )
        await ScriptedAsterisk(keys=["0"], caller_number="+84901234567", linked_id="b", unique_id="b.1").call(
            desk.app[IVR_SERVER].port
        )
        await eventually(lambda: pool.fetchval("SELECT count(*) = 2 FROM ivr_visits"))
        call_id = await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
        ivr = card.locator("[data-testid=pop-ivr]")
        await expect(ivr).to_be_visible()
        await expect(ivr.locator("li")).to_have_text(
            ["welcome: known number", "main [0]: chosen", "agent: support priority 5"]
        )
        await expect(ivr.locator("[data-testid=pop-ivr-article]")).to_be_hidden()
