"""Tickets on the agent desktop and the customer's confirm page, in a real Chromium against the real server.

The service-completed email goes through a real SMTP conversation to a local aiosmtpd server;
the customer opens the link exactly as it arrived in the email.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import asyncpg
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from playwright.async_api import Browser, Locator, Page, expect

from agents import Role
from tests.app_fixtures import ALICE, Desk, running_desk
from tests.conftest import eventually, free_port
from tickets.model import Actor, Channel, NewTicket, Priority
from tickets.service import TicketService
from web_agent.app import SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.timeout(90)]
# Long enough to click "Create ticket" while the call is still up; the open form then holds the card.
SLOW_CALLS = {"ring_s": 2.0, "talk_s": 10.0}
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/confirm#[A-Za-z0-9_-]+)")


# ------------------------------------------------------------------------------------ fixtures


@dataclass
class Mailbox:
    """What the local SMTP server received."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    # When set, each message waits for the test to put the server's answer ("250 OK", "451 …").
    answers: asyncio.Queue[str] | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd handler hook: keep the message (or refuse it, if the test answers so)."""
        if self.answers is not None:
            answer = await self.answers.get()
            if not answer.startswith("250"):
                return answer
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    async def message(self, to: str, subject: str) -> EmailMessage:
        """Wait for the message to `to` whose subject holds `subject` (others, such as alerts,
        may arrive first) and return it."""

        def found() -> EmailMessage | None:
            return next((m for m in self.messages if m["To"] == to and subject in str(m["Subject"])), None)

        await eventually(lambda: found() is not None, timeout_s=10)
        message = found()
        assert message is not None
        return message


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """An SMTP server on loopback, in this test's event loop."""
    box = Mailbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(box, hostname="mail.hotline.test"), "127.0.0.1", 0
    )
    box.port = server.sockets[0].getsockname()[1]
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def ticket_desk(pool: asyncpg.Pool, mailbox: Mailbox) -> AsyncIterator[Desk]:
    """The desk with real email notices and a public URL that points at this very server."""
    port = free_port()
    environ = {
        "HOTLINE_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}",
        "HOTLINE_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    async with running_desk(pool, SLOW_CALLS, environ, port=port, notice_poll_s=0.5) as desk:
        yield desk


# ------------------------------------------------------------------------------------ helpers


def tickets_of(desk: Desk) -> TicketService:
    assert desk.app is not None
    return desk.app[SERVICES].tickets


async def agent_id(desk: Desk, username: str) -> int:
    return int(await desk.pool.fetchval("SELECT id FROM agents WHERE username = $1", username))


async def jane_id(desk: Desk) -> int:
    return int(await desk.pool.fetchval("SELECT id FROM customers WHERE customer_no = 'C1'"))


async def open_ticket(
    desk: Desk,
    *,
    customer_id: int,
    subject: str,
    category: str,
    by: int,
    assignee: int | None,
    priority: Priority = Priority.NORMAL,
) -> int:
    service = tickets_of(desk)
    new = NewTicket.create(
        subject=subject,
        description="",
        category=category,
        channel=Channel.PHONE,
        priority=priority,
        categories=service.categories,
        customer_id=customer_id,
    )
    ticket = await service.open(new, Actor.agent(by), assignee_id=assignee)
    return ticket.id


class Errors:
    """JavaScript errors on a page (uncaught, or a failed desktop hook): each fails the test."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("pageerror", lambda error: self.seen.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.seen.append(message.text)
                if message.type == "error" and message.text.startswith("Hotline:")
                else None
            ),
        )


async def signed_in(browser: Browser, desk: Desk, username: str) -> tuple[Page, Errors]:
    page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
    errors = Errors(page)
    await page.goto(str(desk.client.make_url("/")))
    await page.fill("#username", username)
    await page.fill("#password", f"{username}-password")
    await page.click("#login-submit")
    await expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    return page, errors


async def act(detail: Locator, action: str, text: str) -> None:
    """Click an action button of the ticket detail, write its note and submit it."""
    await detail.locator(f"[data-testid=action-{action}]").click()
    form = detail.locator("[data-testid=action-form]")
    await expect(form).to_be_visible()
    await form.locator("textarea").fill(text)
    await form.locator("[data-testid=action-submit]").click()


async def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(str(body.get_content()))
    assert found, body.get_content()
    return found.group(1)


# ------------------------------------------------------------------------------------ tests


async def test_pop_to_ticket_assign_respond_resolve_and_the_customer_confirms(
    browser: Browser, ticket_desk: Desk, mailbox: Mailbox
) -> None:
    desk = ticket_desk
    service = tickets_of(desk)
    alice_id, bob_id = await agent_id(desk, "alice"), await agent_id(desk, "bob")
    await service.set_handler(alice_id, department="Billing desk", skills=["billing"], capacity=5)
    await service.set_handler(bob_id, department="Billing desk", skills=["billing", "technical"], capacity=5)
    jane = await jane_id(desk)
    # Bob already has one of Jane's tickets: the pop lists it, and Alice (no open work) is suggested.
    await open_ticket(
        desk, customer_id=jane, subject="Old modem return", category="billing", by=bob_id, assignee=bob_id
    )
    alice, alice_errors = await signed_in(browser, desk, "alice")

    call_id = await desk.simulator.place_call(
        number="0901234567", name="Jane Doe", scenario="answered", agents=[ALICE]
    )
    card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await expect(card.locator("[data-testid=customer-name]")).to_have_text("Jane Doe")
    await expect(card.locator("[data-testid=pop-open-tickets] [data-testid=pop-ticket-link]")).to_have_text(
        re.compile(r"#\d+ Old modem return")
    )
    await expect(card.locator("[data-testid=customer-page-link]")).to_be_visible()

    await card.locator("[data-testid=create-ticket-button]").click()
    form = card.locator("[data-testid=ticket-form]")
    await expect(form.locator("select[name=category] option[value=billing]")).to_have_count(1)
    await form.locator("[data-role=save]").click()  # nothing filled in: the form says what is missing
    await expect(form.locator("[data-error-for=subject]")).to_be_visible()
    await expect(form.locator("[data-error-for=category]")).to_be_visible()
    await form.locator("input[name=subject]").fill("Invoice charged twice")
    await form.locator("textarea[name=description]").fill("November invoice was taken twice from her card.")
    await form.locator("select[name=category]").select_option("billing")
    await form.locator("select[name=priority]").select_option("high")
    await form.locator("[data-role=save]").click()

    step = card.locator("[data-testid=assign-step]")
    await expect(step.locator("[data-testid=handler]")).to_have_count(2)
    best = step.locator("[data-testid=handler][data-best=true]")
    await expect(best.locator("[data-testid=handler-name]")).to_have_text("Alice")
    await expect(best.locator("[data-testid=suggested]")).to_be_visible()
    await expect(step.locator(f'[data-testid=handler][data-agent-id="{bob_id}"]')).to_contain_text(
        "1 open of 5"
    )
    await best.locator("[data-testid=assign-handler]").click()
    await expect(card.locator("[data-testid=pop-ticket-result]")).to_contain_text("assigned to Alice")

    row = await desk.pool.fetchrow(
        "SELECT id, call_id, customer_id, assignee_id, category, priority, status, channel"
        " FROM tickets WHERE subject = 'Invoice charged twice'"
    )
    assert dict(row) | {"id": 0} == {
        "id": 0,
        "call_id": call_id,
        "customer_id": jane,
        "assignee_id": alice_id,
        "category": "billing",
        "priority": "high",
        "status": "assigned",
        "channel": "phone",
    }
    number = str(row["id"])

    mine = alice.locator("[data-testid=my-tickets] [data-testid=ticket-row]")
    await expect(mine).to_have_count(1)
    await expect(mine.locator("[data-testid=ticket-subject]")).to_have_text("Invoice charged twice")
    await expect(mine.locator("[data-testid=ticket-status]")).to_have_text("Assigned")
    await expect(mine.locator("[data-testid=ticket-due]")).to_contain_text("Response due in")

    await mine.click()
    detail = alice.locator("[data-testid=ticket-detail]")
    await expect(alice.locator("#drawer-title")).to_have_text(f"Ticket #{number}")
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("Assigned")
    await expect(detail.locator("[data-testid=detail-sla]")).to_contain_text("Due in")
    await act(detail, "respond", "We are checking the double charge with the bank.")
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("In progress")
    responded = detail.locator("[data-testid=timeline-entry][data-action=respond]")
    await expect(responded.locator("[data-testid=customer-visible]")).to_be_visible()
    await expect(responded.locator("[data-testid=entry-move]")).to_have_text("Assigned → In progress")
    await expect(responded).to_contain_text("Alice")

    resolution = "The second charge was refunded; it shows on your card within 3 days."
    mailbox.answers = asyncio.Queue()  # the SMTP server holds the notice until the test answers
    await act(detail, "resolve", resolution)
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("Resolved")
    await expect(detail.locator("[data-testid=detail-resolution]")).to_have_text(resolution)
    await expect(detail.locator("[data-testid=action-confirm]")).to_be_visible()
    await expect(detail.locator("[data-testid=action-respond]")).to_have_count(0)

    # The notice's delivery shows live in the open detail (ticket_notice), no reload by hand:
    # held, then refused once (it says it will retry), then sent.
    notice = detail.locator("[data-testid=notice]")
    await expect(notice.locator("[data-testid=notice-status]")).to_have_text("Waiting to be sent")
    mailbox.answers.put_nowait("451 4.3.0 Mailbox busy, try again later")
    await expect(notice.locator("[data-testid=notice-status]")).to_have_text("Not sent yet, will retry")
    await expect(notice.locator("[data-testid=notice-error]")).to_contain_text("Mailbox busy")
    mailbox.answers.put_nowait("250 OK")
    # Due now rather than after the 30 s backoff: the dispatcher's next poll sends it.
    await desk.pool.execute("UPDATE ticket_notices SET next_attempt_at = now() WHERE status = 'pending'")
    await expect(notice.locator("[data-testid=notice-status]")).to_have_text("Sent")
    await expect(notice.locator("[data-testid=notice-error]")).to_have_count(0)
    await expect(alice.locator("#drawer-title")).to_have_text(f"Ticket #{number}")

    async with asyncio.timeout(15):
        email = await mailbox.message("jane@example.com", f"Ticket #{number} resolved")
    content = str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert email["To"] == "jane@example.com"
    assert f"#{number}" in str(email["Subject"])
    assert "Dear Jane Doe" in content
    assert f"#{number}" in content
    assert resolution in content
    link = await link_in(email)

    customer = await (await browser.new_context()).new_page()
    customer_errors = Errors(customer)
    await customer.goto(link)
    await expect(customer.locator("[data-testid=confirm-number]")).to_have_text(f"Request #{number}")
    await expect(customer.locator("[data-testid=confirm-subject]")).to_have_text("Invoice charged twice")
    await expect(customer.locator("[data-testid=confirm-resolution]")).to_have_text(resolution)
    assert "Alice" not in await customer.locator("body").inner_text()
    await customer.locator("[data-testid=confirm-yes]").click()
    await expect(customer.locator("[data-testid=confirm-outcome]")).to_contain_text(
        f"#{number} is now closed"
    )

    # Alice's open detail follows the customer's answer live (ticket_changed), notice delivered.
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("Closed")
    await expect(detail.locator("[data-testid=timeline-entry][data-action=confirm]")).to_contain_text(
        "Customer"
    )
    await expect(detail.locator("[data-testid=notice] [data-testid=notice-status]")).to_have_text("Sent")
    await expect(mine).to_have_count(0)
    assert await desk.pool.fetchval("SELECT status FROM tickets WHERE id = $1", row["id"]) == "closed"

    # The link works once: opened again, it explains itself instead of showing the request.
    await customer.reload()
    await expect(customer.locator("[data-testid=confirm-outcome]")).to_contain_text("not valid any more")
    await expect(customer.locator("[data-testid=confirm-yes]")).to_be_hidden()

    # From the pop, the customer page: the whole story, newest first, the ticket closed.
    await card.locator("[data-testid=customer-page-link]").click()
    view = alice.locator("[data-testid=customer-view]")
    await expect(view.locator("[data-testid=customer-view-name]")).to_have_text("Jane Doe")
    own = view.locator(f'[data-testid=customer-tickets] [data-testid=ticket-row][data-ticket-id="{number}"]')
    await expect(own.locator("[data-testid=ticket-status]")).to_have_text("Closed")
    timeline = view.locator("[data-testid=customer-timeline] li")
    await expect(timeline.filter(has_text=f"Ticket #{number} closed")).to_have_count(1)
    await expect(timeline.last).to_contain_text("Asked about the invoice")  # the oldest, from November
    assert alice_errors.seen == []
    assert customer_errors.seen == []


async def test_the_customer_reopens_and_the_ticket_returns_to_the_handler_with_the_note(
    browser: Browser, ticket_desk: Desk, mailbox: Mailbox
) -> None:
    desk = ticket_desk
    service = tickets_of(desk)
    alice_id, bob_id = await agent_id(desk, "alice"), await agent_id(desk, "bob")
    await service.set_handler(bob_id, department="Field service", skills=["technical"], capacity=10)
    vip = await desk.pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier, email) VALUES ('C2', 'Minh Tran', 'vip', 'minh@example.com')"
        " RETURNING id"
    )
    jane = await jane_id(desk)
    router = await open_ticket(
        desk,
        customer_id=jane,
        subject="Router keeps rebooting",
        category="technical",
        by=alice_id,
        assignee=bob_id,
        priority=Priority.URGENT,
    )
    await open_ticket(
        desk,
        customer_id=vip,
        subject="No signal upstairs",
        category="technical",
        by=alice_id,
        assignee=bob_id,
        priority=Priority.LOW,
    )
    await service.resolve(router, Actor.agent(bob_id), "Firmware updated remotely.")
    bob, bob_errors = await signed_in(browser, desk, "bob")
    rows = bob.locator("[data-testid=my-tickets] [data-testid=ticket-row]")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator("[data-testid=top-tier-badge]")).to_be_visible()

    async with asyncio.timeout(15):
        link = await link_in(await mailbox.message("jane@example.com", "resolved: Router keeps rebooting"))
    customer = await (await browser.new_context()).new_page()
    customer_errors = Errors(customer)
    await customer.goto(link)
    await expect(customer.locator("[data-testid=confirm-subject]")).to_have_text("Router keeps rebooting")
    await customer.locator("[data-testid=confirm-no]").click()
    await customer.locator("[data-testid=reopen-send]").click()  # no note yet: asked for one, nothing sent
    await expect(customer.locator("#reopen-note-error")).to_contain_text("what is still not working")
    assert await desk.pool.fetchval("SELECT status FROM tickets WHERE id = $1", router) == "resolved"
    await customer.locator("[data-testid=reopen-note]").fill("It still reboots every night at 2 am.")
    await customer.locator("[data-testid=reopen-send]").click()
    await expect(customer.locator("[data-testid=confirm-outcome]")).to_contain_text(
        f"reopened request #{router}"
    )

    # Live on Bob's list: the VIP's ticket stays first although Jane's is urgent.
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator("[data-testid=ticket-subject]")).to_have_text("No signal upstairs")
    reopened = rows.nth(1)
    await expect(reopened.locator("[data-testid=ticket-subject]")).to_have_text("Router keeps rebooting")
    await expect(reopened.locator("[data-testid=ticket-status]")).to_have_text("Reopened")
    await reopened.click()
    detail = bob.locator("[data-testid=ticket-detail]")
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("Reopened")
    latest = detail.locator("[data-testid=timeline-entry]").first
    await expect(latest).to_have_attribute("data-action", "reopen")
    await expect(latest.locator("[data-testid=entry-note]")).to_have_text(
        "It still reboots every night at 2 am."
    )
    await expect(latest.locator("[data-testid=entry-move]")).to_have_text("Resolved → Reopened")
    await expect(latest).to_contain_text("Customer")
    await expect(detail.locator("[data-testid=action-respond]")).to_be_visible()
    comment = detail.locator("[data-testid=comment-form]")
    await comment.locator("textarea").fill("Technician booked for Thursday morning.")
    await comment.locator("[data-testid=comment-visible]").check()
    await comment.locator("[data-testid=comment-submit]").click()
    await expect(bob.locator("[data-testid=drawer-message]")).to_contain_text("the customer can see it")
    noted = detail.locator("[data-testid=timeline-entry]").first
    await expect(noted).to_have_attribute("data-action", "comment")
    await expect(noted.locator("[data-testid=customer-visible]")).to_be_visible()
    await expect(noted.locator("[data-testid=entry-note]")).to_have_text(
        "Technician booked for Thursday morning."
    )

    # The customer page, from the ticket: facts, tickets and the timeline with the reopen on top.
    await detail.locator("[data-testid=detail-customer-link]").click()
    view = bob.locator("[data-testid=customer-view]")
    await expect(view.locator("[data-testid=customer-view-name]")).to_have_text("Jane Doe")
    await expect(view.locator("[data-testid=customer-tickets] [data-testid=ticket-row]")).to_have_count(1)
    await expect(view.locator("[data-testid=customer-timeline] li").first).to_contain_text(
        f"#{router} reopened"
    )
    await expect(view.locator("[data-testid=customer-timeline]")).to_contain_text("Asked about the invoice")
    await bob.locator("#drawer-back").click()
    await expect(bob.locator("#drawer-title")).to_have_text(f"Ticket #{router}")
    assert bob_errors.seen == []
    assert customer_errors.seen == []


async def test_unknown_caller_ticket_keeps_the_number_and_waits_unassigned_without_handlers(
    browser: Browser, ticket_desk: Desk
) -> None:
    desk = ticket_desk
    assert desk.app is not None
    await desk.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )
    carol, carol_errors = await signed_in(browser, desk, "carol")
    await carol.locator("[data-testid=tab-unassigned]").click()
    unassigned = carol.locator("[data-testid=unassigned-tickets] [data-testid=ticket-row]")
    await expect(unassigned).to_have_count(0)
    alice, errors = await signed_in(browser, desk, "alice")
    await expect(alice.locator("[data-testid=tab-unassigned]")).to_be_hidden()
    call_id = await desk.simulator.place_call(
        number="0966123123", name="Mai Hoang", scenario="abandon", agents=[ALICE]
    )
    card = alice.locator(f'[data-testid=pop-card][data-call-id="{call_id}"]')
    await expect(card.locator("[data-testid=customer-name]")).to_have_text("Unknown caller")
    await expect(card.locator("[data-testid=customer-page-link]")).to_be_hidden()
    await card.locator("[data-testid=create-ticket-button]").click()
    form = card.locator("[data-testid=ticket-form]")
    await expect(form).to_contain_text("0966123123")
    await form.locator("input[name=subject]").fill("Parcel not delivered")
    await form.locator("select[name=category]").select_option("delivery")
    await form.locator("input[name=subject]").press("Enter")
    step = card.locator("[data-testid=assign-step]")
    await expect(step).to_contain_text("Nobody has the “delivery” skill yet")
    await expect(step.locator("[data-testid=auto-assign]")).to_be_hidden()
    await step.get_by_role("button", name="Leave unassigned").click()
    await expect(card.locator("[data-testid=pop-ticket-result]")).to_contain_text(
        "waiting in the Unassigned list"
    )
    stored = await desk.pool.fetchrow(
        "SELECT customer_id, contact_phone, customer_name, call_id, assignee_id, status FROM tickets"
    )
    assert dict(stored) | {"contact_phone": "?"} == {
        "customer_id": None,
        "contact_phone": "?",
        "customer_name": "Mai Hoang",
        "call_id": call_id,
        "assignee_id": None,
        "status": "new",
    }
    assert "966123123" in stored["contact_phone"]
    # The supervisor's Unassigned list picks it up live.
    await expect(unassigned).to_have_count(1)
    await expect(unassigned.locator("[data-testid=ticket-subject]")).to_have_text("Parcel not delivered")
    await expect(unassigned.locator("[data-testid=ticket-status]")).to_have_text("New")
    assert errors.seen == []
    assert carol_errors.seen == []


async def test_an_action_on_a_stale_ticket_says_it_changed_and_reloads(
    browser: Browser, ticket_desk: Desk
) -> None:
    desk = ticket_desk
    service = tickets_of(desk)
    alice_id = await agent_id(desk, "alice")
    await service.set_handler(alice_id, department="Billing desk", skills=["billing"], capacity=5)
    ticket_id = await open_ticket(
        desk,
        customer_id=await jane_id(desk),
        subject="Wrong tariff",
        category="billing",
        by=alice_id,
        assignee=alice_id,
    )
    await desk.pool.execute(
        "UPDATE tickets SET first_response_due = now() - interval '2 hours 5 minutes' WHERE id = $1",
        ticket_id,
    )
    alice, errors = await signed_in(browser, desk, "alice")
    row = alice.locator("[data-testid=my-tickets] [data-testid=ticket-row]")
    await expect(row.locator("[data-testid=ticket-due]")).to_have_text("Response overdue by 2 h 5 min")
    await expect(row.locator("[data-testid=ticket-due]")).to_have_attribute("data-overdue", "true")
    await row.click()
    detail = alice.locator("[data-testid=ticket-detail]")
    await expect(detail).to_have_attribute("data-version", re.compile(r"\d+"))
    shown = int(await detail.get_attribute("data-version") or "0")
    # A change this desk never hears about (no event): only the version check can catch it.
    await desk.pool.execute("UPDATE tickets SET version = version + 1 WHERE id = $1", ticket_id)
    await act(detail, "respond", "Looking into the tariff now.")
    await expect(alice.locator("[data-testid=drawer-message]")).to_contain_text(
        "changed by someone else — reloaded"
    )
    await expect(detail).to_have_attribute("data-version", str(shown + 1))
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("Assigned")
    await act(detail, "respond", "Looking into the tariff now.")
    await expect(detail.locator("[data-testid=detail-status]")).to_have_text("In progress")
    assert errors.seen == []


async def test_supervisors_see_reopens_per_handler_and_category_and_agents_do_not(
    browser: Browser, ticket_desk: Desk
) -> None:
    desk = ticket_desk
    assert desk.app is not None
    service = tickets_of(desk)
    alice_id, bob_id = await agent_id(desk, "alice"), await agent_id(desk, "bob")
    await service.set_handler(bob_id, department="Field service", skills=["technical"], capacity=10)
    jane = await jane_id(desk)
    subjects = ("Router keeps rebooting", "No signal upstairs", "Slow at night")
    tickets = [
        await open_ticket(
            desk, customer_id=jane, subject=subject, category="technical", by=alice_id, assignee=bob_id
        )
        for subject in subjects
    ]
    await service.resolve(tickets[0], Actor.agent(bob_id), "Firmware updated remotely.")
    await service.resolve(tickets[1], Actor.agent(bob_id), "Repeater installed.")
    await service.reopen(tickets[0], Actor.agent(alice_id), "Customer called: it still reboots.")
    await desk.app[SERVICES].accounts.create_agent(
        username="carol", display_name="Carol", password="carol-password", role=Role.SUPERVISOR, interfaces=[]
    )

    carol, carol_errors = await signed_in(browser, desk, "carol")
    # Supervisors reach their other pages from the top bar; agents do not see the links.
    await expect(carol.locator("[data-testid=nav-wallboard]")).to_have_attribute("href", "/wallboard")
    await expect(carol.locator("[data-testid=nav-campaigns]")).to_be_visible()
    tab = carol.locator("[data-testid=tab-reopens]")
    await tab.click()
    await expect(tab).to_have_attribute("aria-selected", "true")
    rows = carol.locator("[data-testid=reopens-table] [data-testid=reopen-row]")
    await expect(rows).to_have_count(1)
    row = rows.first
    await expect(row.locator("[data-testid=reopen-handler]")).to_have_text("Bob")
    await expect(row.locator("[data-testid=reopen-category]")).to_have_text("technical")
    await expect(row.locator("[data-testid=reopen-resolved]")).to_have_text("2")
    await expect(row.locator("[data-testid=reopen-reopened]")).to_have_text("1")
    await expect(row.locator("[data-testid=reopen-rate]")).to_have_text("50%")
    await expect(row).to_have_attribute("data-flagged", "true")
    await expect(carol.locator("[data-testid=my-tickets]")).to_be_hidden()

    # Live: another resolution (ticket_changed "resolved") updates the open report.
    await service.resolve(tickets[2], Actor.agent(bob_id), "Channel changed on the router.")
    await expect(row.locator("[data-testid=reopen-resolved]")).to_have_text("3")
    await expect(row.locator("[data-testid=reopen-rate]")).to_have_text("33%")

    alice, alice_errors = await signed_in(browser, desk, "alice")
    await expect(alice.locator("[data-testid=tab-mine]")).to_be_visible()
    await expect(alice.locator("[data-testid=nav-wallboard]")).to_be_hidden()
    await expect(alice.locator("[data-testid=tab-reopens]")).to_be_hidden()
    await expect(alice.locator("[data-testid=reopens-table]")).to_be_hidden()
    assert carol_errors.seen == []
    assert alice_errors.seen == []
