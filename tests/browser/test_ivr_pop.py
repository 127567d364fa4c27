"""The agent sees on the pop card what the caller did in the IVR (real Chromium, real server)."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from hotline.app import IVR_SERVER
from tests.app_fixtures import ALICE, publish_billing_answer, running_desk
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


async def test_the_ivr_path_and_answers_follow_the_pop_onto_its_card_and_stay_after_a_reload(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    environ = {"HOTLINE_IVR_ENABLED": "true", "HOTLINE_IVR_PORT": "0"}
    async with running_desk(pool, {"ring_s": 8.0, "talk_s": 8.0}, environ) as desk:
        assert desk.app is not None
        article = await publish_billing_answer(desk)
        alice = await signed_in(browser, desk, "alice")
        # Jane hears the billing answer in the IVR, then asks for an agent.
        await ScriptedAsterisk(
            keys=["2", "0"], caller_number="+84901234567", linked_id="c", unique_id="c.1"
        ).call(desk.app[IVR_SERVER].port)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM ivr_visits"))
        call_id = await desk.simulator.place_call(
            number="+84901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
        )
        card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')

        async def shows_the_details() -> None:
            await expect(card.locator("[data-testid=customer-name]")).to_have_text("Jane Doe")
            await expect(card.locator("[data-testid=pop-ivr-article]")).to_have_text(
                f"Heard article #{article.id}: Paying an invoice twice"
            )
            suggestions = card.get_by_test_id("pop-suggestions")
            await expect(suggestions.get_by_test_id("suggestion-title")).to_have_text(
                ["Paying an invoice twice"]
            )

        await shows_the_details()
        # A reloaded desktop gets the open card from the snapshot, details included.
        await alice.reload()
        await expect(alice.locator("#connection-status")).to_have_attribute("data-state", "live")
        await shows_the_details()
