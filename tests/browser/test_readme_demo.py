"""The README's "Two commands" demo, walked in a real Chromium (issue 20).

`hotline demo` starts on an empty database as on a first `make run`: it seeds itself, and its own
PBX simulator plays the calls. The test then does what the README tells a newcomer to try, and
each step fails saying which README sentence no longer holds.

Callers come fast, so the pops come within seconds; by the time alice resumes, they queue faster
than the two agents answer, and waiting callers take alice before any campaign could (as they
would on a real Asterisk). So the campaign is joined after a restart (the README's "the data
stays for the next run") that plays no inbound calls. And every lead the campaign dials answers
(the demo's simulator answers half of them at random), so alice's campaign call comes on the
first dial.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from cti.simulator import SimulatorSettings
from hotline import demo as demo_module
from hotline.demo import CALLBACK, DEMO_AGENTS, run_demo
from hotline.settings import Settings, load_settings
from tests.conftest import eventually, free_port

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.timeout(90)]
ALICE_PHONE = "Local/1001@agents"
PASSWORDS = {agent.username: agent.password for agent in DEMO_AGENTS}
# Callers come every two seconds on average: the first pops come within seconds, and callers
# keep waiting in the queue while alice is paused.
CALLS_PER_MINUTE = 30


@dataclass
class Demo:
    """The running demo: its address, its database, when it was first started, and its task."""

    settings: Settings
    database_url: str
    capsys: pytest.CaptureFixture[str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    url: str = ""
    task: asyncio.Task[None] | None = None
    page_errors: list[str] = field(default_factory=list)  # JavaScript errors in any of the pages

    async def start(self, calls_per_minute: float) -> None:
        """`hotline demo` in this test's event loop, once its banner is out."""
        task = self.task = asyncio.get_running_loop().create_task(
            run_demo(self.settings, calls_per_minute=calls_per_minute)
        )
        printed = ""

        def banner() -> bool:
            nonlocal printed
            printed += self.capsys.readouterr().out
            return "Press Ctrl-C to stop" in printed or task.done()

        await eventually(banner, timeout_s=30)
        assert not task.done(), f"the demo stopped before its banner: {task}"
        # The banner gives the address and the logins of the README's table.
        found = re.search(r"Hotline demo is running at (http://\S+/)", printed)
        assert found, printed
        for agent in DEMO_AGENTS:
            assert re.search(rf"{agent.username}\s+/ {agent.password}\s+{agent.role.value}", printed), printed
        self.url = found.group(1)

    async def stop(self) -> None:
        """Ctrl-C: the demo stops; its data stays."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None


@pytest.fixture
async def demo(
    empty_database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Demo]:
    """`hotline demo` on an empty database, started by the test (and stopped after it)."""
    settings = load_settings(
        None,
        {
            "HOTLINE_DATABASE_URL": empty_database_url,
            "HOTLINE_SERVER_PORT": str(free_port()),
            "HOTLINE_IVR_PORT": str(free_port()),
        },
    )
    answering = functools.partial(SimulatorSettings, originate_answer_share=1.0, originate_busy_share=0.0)
    monkeypatch.setattr(demo_module, "SimulatorSettings", answering)
    running = Demo(settings, empty_database_url, capsys)
    try:
        yield running
    finally:
        await running.stop()


async def desk(browser: Browser, demo: Demo, username: str) -> Page:
    """`username` signed in on the desktop with the password the README's table gives."""
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    context.on("weberror", lambda error: demo.page_errors.append(f"{username}: {error.error}"))
    page = await context.new_page()
    await page.goto(demo.url)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORDS[username])
    await page.click("#login-submit")
    await expect(page.locator("#connection-status"), f"{username} signs in").to_have_attribute(
        "data-state", "live"
    )
    return page


async def test_the_readme_demo_does_what_the_readme_says(browser: Browser, demo: Demo) -> None:
    await demo.start(calls_per_minute=CALLS_PER_MINUTE)
    # "Sign in as alice in one browser window and bob in another and watch calls pop"
    alice, bob, carol = await asyncio.gather(
        *(desk(browser, demo, name) for name in ("alice", "bob", "carol"))
    )

    # "About a minute after the start, a callback alice promised Jane Doe pops in her Callbacks
    # panel": it is listed from the start, scheduled a minute after the seeding.
    callback = alice.get_by_test_id("callbacks-panel").get_by_test_id("callback-item")
    await expect(
        callback, "alice's Callbacks panel lists the callback she promised Jane Doe"
    ).to_contain_text(CALLBACK[1])
    await expect(callback).to_contain_text(CALLBACK[3])
    await expect(callback, "the callback is not due before a minute has passed").to_have_attribute(
        "data-status", "scheduled"
    )
    conn = await asyncpg.connect(demo.database_url)
    try:
        due_at = await conn.fetchval("SELECT due_at FROM callbacks WHERE customer_name = $1", CALLBACK[1])
    finally:
        await conn.close()
    assert demo.started_at + timedelta(minutes=1) <= due_at <= datetime.now(UTC) + timedelta(minutes=1), (
        due_at
    )

    # Calls ring from the demo's first second: a call alice had before her desk was up ends first.
    on_call = alice.locator("[data-testid=pop-card][data-status=on_call]").first
    await expect(on_call, "a call pops on alice's desk and she is on it").to_be_visible(timeout=45_000)
    call_id = await on_call.get_attribute("data-call-id")
    card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await expect(card.locator("[data-testid=caller-number]"), "the pop shows the caller").not_to_be_empty()
    await expect(card.locator("[data-testid=customer-name]"), "the pop names the caller").not_to_be_empty()
    await expect(bob.locator("[data-testid=pop-card]").first, "a call pops on bob's desk").to_be_visible(
        timeout=45_000
    )

    # "Pause alice with a reason from her top bar ... paused during a call"
    bar = alice.locator("[data-testid=agent-state]")
    await bar.locator("[data-testid=pause-reason]").select_option("Lunch")
    await bar.locator("[data-testid=pause-button]").click()
    await expect(bar.locator("[data-testid=agent-state-label]")).to_have_text("On call")

    # 'From a pop, "Create ticket" takes the request and offers the handlers who can take it;
    # "My tickets" is the work list'
    await card.locator("[data-testid=create-ticket-button]").click()
    form = card.locator("[data-testid=ticket-form]")
    await form.locator("input[name=subject]").fill("Asks for a paper copy of the November invoice")
    await form.locator("select[name=category]").select_option("billing")
    await form.locator("[data-role=save]").click()
    handler = card.locator("[data-testid=assign-step] [data-testid=handler]", has_text="Alice Nguyen")
    await expect(handler, "the pop offers alice, who handles billing, for the ticket").to_be_visible()
    await handler.locator("[data-testid=assign-handler]").click()
    await expect(card.locator("[data-testid=pop-ticket-result]")).to_contain_text("assigned to Alice Nguyen")
    mine = alice.locator("[data-testid=my-tickets] [data-testid=ticket-row]", has_text="paper copy")
    await expect(mine, "the new ticket is in alice's My tickets").to_have_count(1)

    # "open the wallboard from carol's top bar ... to watch the queues live"
    await carol.get_by_test_id("nav-wallboard").click()
    await expect(carol.locator("#wb-status"), "carol's wallboard goes live").to_have_attribute(
        "data-state", "live"
    )
    tile = carol.locator('[data-testid=queue-tile][data-queue="support"]')
    await expect(tile, "the wallboard shows the support queue").to_be_visible()
    alice_row = carol.locator(f'#wb-agents tr[data-interface="{ALICE_PHONE}"]')
    await expect(
        alice_row.locator("[data-role=state]"), "the wallboard shows alice on her call"
    ).to_have_text("On call")

    # "carol (supervisor) also sees the unassigned tickets and the reopen report" (her desk in a
    # second tab, signed in already)
    pages = await carol.context.new_page()
    await pages.goto(demo.url)
    await expect(pages.get_by_test_id("tab-unassigned"), "carol sees the unassigned tickets").to_be_visible()
    await expect(pages.get_by_test_id("tab-reopens"), "carol sees the reopen report").to_be_visible()
    # "start it on carol's Campaigns page" (from her top bar)
    await pages.get_by_test_id("nav-campaigns").click()
    row = pages.locator("[data-testid=campaign-row]", has_text="Winter upgrade offer")
    await expect(
        row.locator("[data-testid=campaign-state]"), "the demo's campaign waits paused"
    ).to_have_text("Paused")
    await row.locator("[data-testid=set-running]").click()
    await expect(row.locator("[data-testid=campaign-state]")).to_have_text("Running")

    # "carol's Reports page charts a month of ticket history"
    await pages.go_back()
    await pages.get_by_test_id("nav-reports").click()
    await expect(pages.get_by_test_id("period-message")).to_contain_text("Showing")
    per_day = pages.get_by_test_id("chart-volume-day").locator("svg circle.chart-dot title")
    await expect(per_day, "the reports chart the last 30 days").to_have_count(30)
    tickets = [int(title.rsplit(": ", 1)[1]) for title in await per_day.all_text_contents()]
    assert sum(1 for count in tickets if count) >= 25, f"a month of ticket history, not {tickets}"
    categories = pages.get_by_test_id("chart-volume-category")
    await expect(categories.locator("svg rect.chart-bar"), "the month has every category").to_have_count(5)

    # "she stays paused after it until she resumes"
    await expect(
        alice.locator(f'#today-calls tbody tr[data-call-id="{call_id}"]'), "alice's call ends"
    ).to_have_count(1, timeout=40_000)
    await expect(
        bar.locator("[data-testid=agent-state-label]"), "after her call alice's desk still says paused"
    ).to_have_text("Paused – Lunch")
    await expect(alice_row.locator("[data-role=state]"), "the wallboard shows alice paused").to_have_text(
        "Paused"
    )
    await expect(alice_row.locator("[data-role=reason]")).to_have_text("Lunch")
    await expect(tile.locator("[data-testid=paused]")).to_have_text("1")
    await bar.locator("[data-testid=ready-button]").click()
    await expect(bar.locator("[data-testid=agent-state-label]"), "alice resumes").not_to_contain_text(
        "Paused"
    )

    # "Ctrl-C stops everything cleanly; the data stays in var/ for the next run". By now callers
    # queue faster than bob alone answers them, and a queue's waiting callers take alice before
    # any campaign could: the next run plays no inbound calls, so the dialer has her to itself.
    await demo.stop()
    await demo.start(calls_per_minute=0)
    await expect(alice.locator("#connection-status"), "alice's desk reconnects").to_have_attribute(
        "data-state", "live", timeout=15_000
    )
    await expect(mine, "her ticket is still hers").to_have_count(1)

    # "join it from alice's desktop, and the dialer places calls for her"
    outbound = alice.locator("[data-testid=outbound-panel]")
    await expect(
        outbound.locator("[data-testid=campaign-select]"), "alice sees the running campaign"
    ).to_contain_text("Winter upgrade offer")
    await outbound.locator("[data-testid=campaign-join]").click()
    call = outbound.locator("[data-testid=outbound-call]")
    await expect(call, "the dialer places a campaign call for alice").to_be_visible(timeout=15_000)
    await expect(call.locator("[data-testid=outbound-lead-name]")).to_have_text(re.compile(r"Lead \d\d"))
    await expect(call.locator("[data-testid=outbound-script]")).to_contain_text("free speed upgrade")
    outbound_id = await call.get_attribute("data-call-id")
    await expect(
        alice.locator(f'[data-testid=pop-card][data-call-id="{outbound_id}"]'), "the campaign call pops"
    ).to_have_attribute("data-direction", "outbound")
    await expect(bob.locator(f'[data-testid=pop-card][data-call-id="{outbound_id}"]')).to_have_count(0)
    assert demo.page_errors == []
