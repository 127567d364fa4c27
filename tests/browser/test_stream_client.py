"""The staff pages' one live stream client (static/stream.js), driven on the wallboard in Chromium.

The page's timers run on Playwright's clock, so a retry happens when the test lets time pass and
the test can say what is on the server before the page reconnects.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from aiohttp import ClientWebSocketResponse
from playwright.async_api import Browser, Locator, Page, WebSocketRoute, expect

from agents import Agent, Role
from tests.app_fixtures import ALICE, Desk
from tests.conftest import eventually
from web_agent.app import SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.db]

# Counts the sockets the page opens (the WebSocket still works as the browser's own).
COUNT_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  let opened = 0;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      opened += 1;
    }
  };
  Object.defineProperty(window, "socketsOpened", { get: () => opened });
})();
"""


@dataclass
class Board:
    """The wallboard in a fresh browser profile, before sign-in, and its supervisor."""

    page: Page
    carol: Agent
    errors: list[str] = field(default_factory=list)

    async def sign_in(self) -> None:
        await self.page.fill("#wb-username", "carol")
        await self.page.fill("#wb-password", "carol-password")
        await self.page.click("#wb-login-submit")
        await expect(self.status).to_have_attribute("data-state", "live")

    @property
    def status(self) -> Locator:
        return self.page.locator("#wb-status")

    async def sockets_opened(self) -> int:
        return int(await self.page.evaluate("window.socketsOpened"))

    async def freeze(self) -> None:
        """Stop the page's timers (a retry waits until the test runs the clock)."""
        now_ms = await self.page.evaluate("Date.now()")
        await self.page.clock.pause_at(datetime.fromtimestamp(now_ms / 1000 + 0.1))

    async def drop_socket(self) -> None:
        """A network blip: the page's socket closes under it."""
        await self.page.evaluate("window.HotlineWallboard.stream.socket.close()")
        await expect(self.status).to_have_attribute("data-state", "reconnecting")


@pytest.fixture
async def board(browser: Browser, desk: Desk) -> AsyncIterator[Board]:
    carol = await desk.client.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    await context.add_init_script(COUNT_SOCKETS)
    page = await context.new_page()
    await page.clock.install()
    board = Board(page, carol)
    page.on("pageerror", lambda error: board.errors.append(str(error)))
    await page.goto(str(desk.client.make_url("/wallboard")))
    try:
        yield board
    finally:
        await context.close()


async def supervisor_socket(desk: Desk) -> ClientWebSocketResponse:
    """A second supervisor's stream: it hears what the wallboard's stream is sent, at the same moment."""
    await desk.client.app[SERVICES].accounts.create_agent(
        username="sam", display_name="Sam", password="sam-password", role=Role.SUPERVISOR, interfaces=[]
    )
    return await desk.socket("sam")


async def next_agent_state(ws: ClientWebSocketResponse, interface: str, state: str) -> None:
    async with asyncio.timeout(10):
        while True:
            frame = json.loads((await ws.receive()).data)
            data = frame.get("data") or {}
            if (
                frame.get("type") == "agent_state"
                and data.get("interface") == interface
                and data.get("state") == state
            ):
                return


async def test_a_stream_that_drops_resumes_with_the_frames_sent_meanwhile(board: Board, desk: Desk) -> None:
    await board.sign_in()
    hub = desk.client.app[SERVICES].hub
    alice_row = board.page.locator(f'#wb-agents tr[data-interface="{ALICE}"]')
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")
    scope = await board.page.evaluate("window.HotlineWallboard.stream.scope")
    seq_before = await board.page.evaluate("window.HotlineWallboard.stream.lastSeq")
    witness = await supervisor_socket(desk)

    await board.freeze()
    await board.drop_socket()
    await eventually(lambda: not hub.online(board.carol.id))
    # While the wallboard is away, alice goes to lunch; the frame waits in the wallboard's stream.
    login = await desk.client.post(
        "/api/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    alice_token = (await login.json())["token"]
    paused = await desk.client.post(
        "/api/agent/pause", json={"reason": "Lunch"}, headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert paused.status == 200, await paused.text()
    await next_agent_state(witness, ALICE, "paused")
    await witness.close()
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Ready")

    await board.page.clock.resume()
    await expect(board.status).to_have_attribute("data-state", "live")
    await expect(alice_row.locator("[data-role=state]")).to_have_text("Paused")
    await expect(alice_row.locator("[data-role=reason]")).to_have_text("Lunch")
    # The same stream, resumed after the last frame seen: no snapshot stood in for what was missed.
    assert await board.page.evaluate("window.HotlineWallboard.stream.scope") == scope
    assert await board.page.evaluate("window.HotlineWallboard.stream.lastSeq") > seq_before
    assert await board.sockets_opened() == 2
    assert board.errors == []


async def test_a_socket_whose_pings_go_unanswered_is_replaced_and_the_stream_resumes(
    board: Board, desk: Desk
) -> None:
    pings: list[str] = []

    def swallow_pings(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if message == "ping":
                pings.append(message)  # the server never hears it, so no pong comes back
            else:
                server.send(message)

        ws.on_message(from_page)

    await board.page.route_web_socket(re.compile(r"/ws\?"), swallow_pings)
    await board.sign_in()
    scope = await board.page.evaluate("window.HotlineWallboard.stream.scope")
    await board.freeze()
    # A quiet minute and a half of page time, a second at a time: the page asks, hears nothing, gives up.
    for _ in range(90):
        await board.page.clock.run_for(1000)
        if await board.sockets_opened() == 2:
            break
    assert pings, "the page never pinged its silent socket"
    await expect(board.status).to_have_attribute("data-state", "live")
    assert await board.page.evaluate("window.HotlineWallboard.stream.scope") == scope
    assert await board.sockets_opened() == 2
    assert board.errors == []


async def test_a_revoked_token_ends_the_session_once_without_reconnecting_again(
    board: Board, desk: Desk
) -> None:
    await board.sign_in()
    assert await board.sockets_opened() == 1
    token = await board.page.evaluate("sessionStorage.getItem('hotline.token')")
    revoked = await desk.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status == 204
    await board.freeze()
    await board.drop_socket()
    # The first retry is due within a second; the server refuses the token (close code 4002).
    await board.page.clock.run_for(1000)
    await expect(board.page.locator("#wb-login-error")).to_have_text(
        "Your session ended; please sign in again."
    )
    await expect(board.page.locator("#wb-board")).to_be_hidden()
    await expect(board.status).to_have_attribute("data-state", "offline")
    assert await board.sockets_opened() == 2
    # Ten minutes later: every retry the page could have planned was due long ago; none was made.
    await board.page.clock.run_for("10:00")
    assert await board.sockets_opened() == 2
    assert await board.page.evaluate("sessionStorage.getItem('hotline.token')") is None
    assert board.errors == []
