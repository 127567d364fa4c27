"""The service flow on a real PostgreSQL: intake, assignment, SLA clocks, concurrency, notices by SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tickets.errors import (
    ConfirmationInvalidError,
    IllegalTransitionError,
    InvalidTicketError,
    NoHandlerAvailableError,
    NotYourTicketError,
    TicketConflictError,
)
from tickets.events import (
    NoticeAttempted,
    TicketAssigned,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from tickets.model import CUSTOMER, Actor, Channel, NewTicket, Priority, TicketStatus
from tickets.notify import LoggedEmailChannel, NoticeChannel, NoticeDispatcher
from tickets.service import TicketService, TicketSettings
from tickets.sla import load_sla_policy
from tickets.smtp import SmtpChannel, SmtpSettings
from tickets.store import Notice, TicketQuery, TicketStore

pytestmark = pytest.mark.db
TIMEOUT_S = 20
CONFIG = Path(__file__).resolve().parents[2] / "config"
POLICY = load_sla_policy(CONFIG / "sla.toml", CONFIG / "calendar.toml", tiers=("vip", "gold", "standard"))
# Monday 1 December 2026, 09:00 in Ho Chi Minh City: inside business hours.
MONDAY_9AM = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = MONDAY_9AM

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    tier: str
    email: str | None
    phones: tuple[str, ...]


@dataclass
class Directory:
    contacts: dict[int, Contact] = field(default_factory=dict)

    async def find(self, customer_id: int) -> Contact | None:
        return self.contacts.get(customer_id)


@dataclass
class Sink:
    events: list[object] = field(default_factory=list)

    def publish(self, event: object) -> None:
        self.events.append(event)


@dataclass
class Flow:
    service: TicketService
    store: TicketStore
    pool: asyncpg.Pool
    clock: Clock
    sink: Sink
    alice: int
    bob: int
    carol: int
    jane: int
    vera: int

    def new(self, customer_id: int | None = None, **overrides: Any) -> NewTicket:
        values: dict[str, Any] = {
            "subject": "Invoice too high",
            "description": "Charged twice for November",
            "category": "billing",
            "channel": Channel.PHONE,
            "categories": self.service.categories,
            "customer_id": self.jane if customer_id is None else customer_id,
            **overrides,
        }
        return NewTicket.create(**values)


async def _agent(pool: asyncpg.Pool, username: str, role: str = "agent") -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO agents (username, display_name, password_hash, role) VALUES ($1, $2, 'x', $3) RETURNING id",
            username,
            username.title(),
            role,
        )
    )


async def _customer(pool: asyncpg.Pool, name: str, tier: str, email_address: str | None) -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO customers (name, tier, email) VALUES ($1, $2, $3) RETURNING id",
            name,
            tier,
            email_address,
        )
    )


def build(
    pool: asyncpg.Pool, clock: Clock, directory: Directory, channels: list[NoticeChannel]
) -> TicketService:
    return TicketService(
        TicketStore(pool),
        POLICY,
        directory,
        Sink(),
        channels=channels,
        settings=TicketSettings(public_url="https://help.example.com"),
        clock=clock,
    )


@pytest.fixture
async def flow(pool: asyncpg.Pool) -> AsyncIterator[Flow]:
    alice, bob, carol = (
        await _agent(pool, "alice"),
        await _agent(pool, "bob"),
        await _agent(pool, "carol", "supervisor"),
    )
    jane = await _customer(pool, "Jane Doe", "gold", "jane@example.com")
    vera = await _customer(pool, "Vera VIP", "vip", None)
    directory = Directory(
        {
            jane: Contact(jane, "Jane Doe", "gold", "jane@example.com", ("+84901234567",)),
            vera: Contact(vera, "Vera VIP", "vip", None, ("+84908000042",)),
        }
    )
    clock, sink, store = Clock(), Sink(), TicketStore(pool)
    service = TicketService(
        store,
        POLICY,
        directory,
        sink,
        channels=[LoggedEmailChannel()],
        settings=TicketSettings(public_url="https://help.example.com"),
        clock=clock,
    )
    await service.set_handler(alice, department="support", skills=["billing", "technical"], capacity=5)
    await service.set_handler(bob, department="billing desk", skills=["billing"], capacity=5)
    return Flow(service, store, pool, clock, sink, alice, bob, carol, jane, vera)


async def _token(pool: asyncpg.Pool, ticket_id: int) -> str:
    body = await pool.fetchval(
        "SELECT body FROM ticket_notices WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1", ticket_id
    )
    return str(body).split("/confirm#", 1)[1].split()[0]


async def test_intake_auto_assigns_the_least_loaded_skilled_handler_and_audits_it(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        busy = await flow.service.open(flow.new(), Actor.agent(flow.alice), assignee_id=flow.alice)
        ticket = await flow.service.open(flow.new(), Actor.agent(flow.alice), auto_assign=True)
        assert busy.assignee_id == flow.alice
        assert (ticket.status, ticket.assignee_id, ticket.department) == (
            TicketStatus.ASSIGNED,
            flow.bob,
            "billing desk",
        )
        assert (ticket.customer_name, ticket.customer_tier, ticket.contact_email) == (
            "Jane Doe",
            "gold",
            "jane@example.com",
        )
        # Deadlines come from the gold/normal target in business hours.
        due = POLICY.deadlines(MONDAY_9AM, Priority.NORMAL, "gold")
        assert (ticket.first_response_due, ticket.resolution_due) == (
            due.first_response_due,
            due.resolution_due,
        )
        detail = await flow.service.detail(ticket.id)
        assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in detail.entries] == [
            ("open", None, TicketStatus.NEW, flow.alice),
            ("assign", TicketStatus.NEW, TicketStatus.ASSIGNED, flow.alice),
        ]
        kinds = [type(e) for e in flow.sink.events]
        assert kinds == [TicketOpened, TicketAssigned, TicketOpened, TicketAssigned]


async def test_auto_assign_with_nobody_free_leaves_the_ticket_in_the_queue_and_says_why(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        ticket = await flow.service.open(
            flow.new(category="delivery"), Actor.agent(flow.alice), auto_assign=True
        )
        assert (ticket.status, ticket.assignee_id) == (TicketStatus.NEW, None)
        entries = (await flow.service.detail(ticket.id)).entries
        assert entries[-1].action == "note"
        assert "'delivery' skill" in entries[-1].note
        with pytest.raises(NoHandlerAvailableError):
            await flow.service.assign(ticket.id, Actor.agent(flow.carol, supervisor=True), assignee_id=None)


async def test_concurrent_auto_assignments_never_overbook_a_handler(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await flow.service.set_handler(flow.alice, department="support", skills=["technical"], capacity=1)
        tickets = await asyncio.gather(
            *(flow.service.open(flow.new(category="technical"), CUSTOMER, auto_assign=True) for _ in range(6))
        )
        assert sorted(t.assignee_id is not None for t in tickets) == [False] * 5 + [True]
        assert (
            await flow.pool.fetchval("SELECT count(*) FROM tickets WHERE assignee_id = $1", flow.alice) == 1
        )


async def test_the_whole_flow_resolve_notify_and_the_customer_confirms(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        flow.clock.now += timedelta(minutes=20)
        ticket = await flow.service.respond(ticket.id, alice, "Looking at your invoice now")
        assert ticket.status is TicketStatus.IN_PROGRESS
        assert ticket.first_responded_at == flow.clock.now
        flow.clock.now += timedelta(minutes=30)
        ticket = await flow.service.resolve(
            ticket.id, alice, "Refunded the double charge", expected_version=ticket.version
        )
        assert (ticket.status, ticket.resolution, ticket.resolved_at) == (
            TicketStatus.RESOLVED,
            "Refunded the double charge",
            flow.clock.now,
        )
        notice = await flow.pool.fetchrow("SELECT * FROM ticket_notices WHERE ticket_id = $1", ticket.id)
        assert (notice["kind"], notice["channel"], notice["recipient"], notice["status"]) == (
            "service_completed",
            "email",
            "jane@example.com",
            "pending",
        )
        assert "https://help.example.com/confirm#" in notice["body"]
        token = await _token(flow.pool, ticket.id)
        # Only a hash of the link is stored on the ticket.
        stored = await flow.pool.fetchval("SELECT confirm_token_hash FROM tickets WHERE id = $1", ticket.id)
        assert token.encode() not in bytes(stored)
        shown = await flow.service.confirmation(token)
        assert shown.id == ticket.id
        closed = await flow.service.answer(token, accepted=True)
        assert (closed.status, closed.closed_at) == (TicketStatus.CLOSED, flow.clock.now)
        with pytest.raises(ConfirmationInvalidError):
            await flow.service.answer(token, accepted=True)
        with pytest.raises(ConfirmationInvalidError):
            await flow.service.confirmation(token)
        entries = (await flow.service.detail(ticket.id)).entries
        assert [(e.action, e.actor_kind.value, e.customer_visible) for e in entries] == [
            ("open", "agent", False),
            ("assign", "agent", False),
            ("respond", "agent", True),
            ("resolve", "agent", True),
            ("confirm", "customer", False),
        ]
        assert isinstance(flow.sink.events[-1], TicketClosed)


async def test_reopen_goes_back_to_the_same_handler_with_a_fresh_target_and_is_counted(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        await flow.service.resolve(ticket.id, alice, "Reset the router")
        token = await _token(flow.pool, ticket.id)
        with pytest.raises(InvalidTicketError):
            await flow.service.answer(token, accepted=False, note="  ")
        flow.clock.now += timedelta(days=1)
        reopened = await flow.service.answer(token, accepted=False, note="Still drops every evening")
        assert (reopened.status, reopened.assignee_id, reopened.reopen_count, reopened.resolved_at) == (
            TicketStatus.REOPENED,
            flow.alice,
            1,
            None,
        )
        assert reopened.resolution_due == POLICY.restart_resolution(flow.clock.now, Priority.NORMAL, "gold")
        assert isinstance(flow.sink.events[-1], TicketReopened)
        with pytest.raises(ConfirmationInvalidError):
            await flow.service.confirmation(token)
        await flow.service.resolve(ticket.id, alice, "Replaced the router")
        counts = await flow.service.reopen_counts(MONDAY_9AM - timedelta(days=1))
        assert [(c.assignee_id, c.category, c.reopened, c.resolved) for c in counts] == [
            (flow.alice, "billing", 1, 2)
        ]


async def test_waiting_on_the_customer_stops_the_resolution_clock(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        ticket = await flow.service.respond(ticket.id, alice, "Please send the invoice number")
        before = ticket.resolution_due
        assert before is not None
        flow.clock.now += timedelta(hours=1)
        waiting = await flow.service.wait_on_customer(ticket.id, alice, "Waiting for the invoice number")
        assert (waiting.status, waiting.sla_paused_at) == (TicketStatus.WAITING, flow.clock.now)
        paused_at = flow.clock.now
        flow.clock.now += timedelta(hours=2)
        resumed = await flow.service.resume(ticket.id, alice, "Customer sent it")
        assert resumed.sla_paused_at is None
        assert resumed.resolution_due == POLICY.resolution_due_after_pause(
            before, paused_at, flow.clock.now, Priority.NORMAL, "gold"
        )
        assert resumed.resolution_due is not None
        assert resumed.resolution_due > before


async def test_two_concurrent_resolves_one_wins_the_other_is_refused_and_nothing_is_lost(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice, carol = Actor.agent(flow.alice), Actor.agent(flow.carol, supervisor=True)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        results = await asyncio.gather(
            flow.service.resolve(ticket.id, alice, "Refund issued"),
            flow.service.resolve(ticket.id, carol, "Credit note sent"),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1
        assert len(lost) == 1
        assert isinstance(lost[0], IllegalTransitionError)
        assert lost[0].status == "resolved"
        stored = await flow.service.get(ticket.id)
        assert stored.resolution == won[0].resolution
        assert stored.version == ticket.version + 1
        resolves = await flow.pool.fetch(
            "SELECT note FROM ticket_events WHERE ticket_id = $1 AND action = 'resolve'", ticket.id
        )
        assert [r["note"] for r in resolves] == [won[0].resolution]
        assert (
            await flow.pool.fetchval("SELECT count(*) FROM ticket_notices WHERE ticket_id = $1", ticket.id)
            == 1
        )


async def test_two_concurrent_writes_from_the_same_version_the_second_gets_a_conflict(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        results = await asyncio.gather(
            flow.service.respond(ticket.id, alice, "On it", expected_version=ticket.version),
            flow.service.resolve(ticket.id, alice, "Done", expected_version=ticket.version),
            return_exceptions=True,
        )
        conflicts = [r for r in results if isinstance(r, TicketConflictError)]
        assert len(conflicts) == 1
        assert conflicts[0].expected == ticket.version
        assert conflicts[0].actual == ticket.version + 1
        assert (await flow.service.get(ticket.id)).version == ticket.version + 1


async def test_only_the_handler_or_a_supervisor_works_a_ticket(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        ticket = await flow.service.open(flow.new(), Actor.agent(flow.alice), assignee_id=flow.alice)
        with pytest.raises(NotYourTicketError):
            await flow.service.respond(ticket.id, Actor.agent(flow.bob), "I'll take it")
        with pytest.raises(NotYourTicketError):
            await flow.service.assign(ticket.id, Actor.agent(flow.bob), assignee_id=flow.bob)
        moved = await flow.service.assign(
            ticket.id,
            Actor.agent(flow.carol, supervisor=True),
            assignee_id=flow.bob,
            note="Alice is on leave",
        )
        assert (moved.assignee_id, moved.department, moved.status) == (
            flow.bob,
            "billing desk",
            TicketStatus.ASSIGNED,
        )
        event = flow.sink.events[-1]
        assert isinstance(event, TicketAssigned)
        assert event.previous_assignee_id == flow.alice
        assert "Alice is on leave" in event.entry.note
        with pytest.raises(InvalidTicketError, match="already assigned"):
            await flow.service.assign(
                ticket.id, Actor.agent(flow.carol, supervisor=True), assignee_id=flow.bob
            )


async def test_assigning_someone_without_the_skill_or_room_is_refused(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        ticket = await flow.service.open(flow.new(category="technical"), CUSTOMER)
        with pytest.raises(InvalidTicketError, match="no 'technical' skill"):
            await flow.service.assign(ticket.id, Actor.agent(flow.alice), assignee_id=flow.bob)
        await flow.service.set_handler(flow.alice, department="support", skills=["technical"], capacity=0)
        with pytest.raises(InvalidTicketError, match="at capacity"):
            await flow.service.assign(ticket.id, Actor.agent(flow.alice), assignee_id=flow.alice)
        # A supervisor may overbook on purpose.
        forced = await flow.service.assign(
            ticket.id, Actor.agent(flow.carol, supervisor=True), assignee_id=flow.alice
        )
        assert forced.assignee_id == flow.alice


async def test_work_lists_put_top_tier_customers_first(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        urgent_gold = await flow.service.open(
            flow.new(priority=Priority.URGENT), alice, assignee_id=flow.alice
        )
        low_vip = await flow.service.open(
            flow.new(flow.vera, priority=Priority.LOW), alice, assignee_id=flow.alice
        )
        normal_gold = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        page = await flow.service.search(TicketQuery(assignee_id=flow.alice, open_only=True))
        assert [t.id for t in page.tickets] == [low_vip.id, urgent_gold.id, normal_gold.id]
        assert page.tickets[0].top_tier
        assert not page.tickets[1].top_tier
        assert page.total == 3
        second = await flow.service.search(TicketQuery(assignee_id=flow.alice, limit=2, offset=2))
        assert ([t.id for t in second.tickets], second.total) == ([normal_gold.id], 3)
        empty = await flow.service.search(TicketQuery(assignee_id=flow.alice, limit=2, offset=10))
        assert (empty.tickets, empty.total) == ((), 3)
        found = await flow.service.search(TicketQuery(text="invoice too"))
        assert found.total == 3
        assert (await flow.service.search(TicketQuery(text=str(low_vip.id)))).tickets[0].id == low_vip.id
        assert (await flow.service.search(TicketQuery(text="100%_"))).total == 0


async def test_a_customer_the_directory_does_not_know_is_refused(flow: Flow) -> None:
    with pytest.raises(InvalidTicketError) as caught:
        await flow.service.open(flow.new(999_999), CUSTOMER)
    assert "customer_id" in caught.value.problems


async def test_resolving_for_a_customer_without_email_says_no_notice_could_be_sent(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(flow.vera), alice, assignee_id=flow.alice)
        await flow.service.resolve(ticket.id, alice, "Fixed on the call")
        entries = (await flow.service.detail(ticket.id)).entries
        assert entries[-1].action == "note"
        assert "no email address" in entries[-1].note
        assert (
            await flow.pool.fetchval("SELECT count(*) FROM ticket_notices WHERE ticket_id = $1", ticket.id)
            == 0
        )
        assert isinstance(flow.sink.events[-1], TicketResolved)


@dataclass
class Inbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_the_service_completed_email_reaches_the_customer(flow: Flow, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    async with asyncio.timeout(TIMEOUT_S):
        smtp = SmtpChannel(SmtpSettings("127.0.0.1", port, from_address="Hotline <support@example.com>"))
        service = build(
            flow.pool,
            flow.clock,
            Directory({flow.jane: Contact(flow.jane, "Jane Doe", "gold", "jane@example.com", ())}),
            [smtp],
        )
        alice = Actor.agent(flow.alice)
        ticket = await service.open(flow.new(), alice, assignee_id=flow.alice)
        await service.resolve(ticket.id, alice, "Refunded the double charge of 120,000 VND")
        dispatcher = NoticeDispatcher(flow.store, {"email": smtp}, flow.clock, flow.sink)
        assert await dispatcher.run_once() == 1
        assert len(handler.messages) == 1
        message = handler.messages[0]
        assert message["To"] == "jane@example.com"
        assert message["Subject"] == f"Ticket #{ticket.id} resolved: Invoice too high"
        body = message.get_content()
        assert "Dear Jane Doe" in body
        assert f"#{ticket.id}" in body
        assert "Refunded the double charge of 120,000 VND" in body
        assert "https://help.example.com/confirm#" in body
        status = (await flow.service.detail(ticket.id)).notices
        assert [(n.status, n.attempts, n.sent_at) for n in status] == [("sent", 1, flow.clock.now)]
        assert flow.sink.events[-1] == NoticeAttempted(
            ticket.id, status[0].id, "email", True, None, flow.clock.now, kind="service_completed"
        )
        assert await dispatcher.run_once() == 0


async def test_a_refused_email_is_retried_with_backoff_then_marked_failed(
    flow: Flow, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    handler.refuse = True
    async with asyncio.timeout(TIMEOUT_S):
        smtp = SmtpChannel(SmtpSettings("127.0.0.1", port, from_address="support@example.com"))
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        await flow.service.resolve(ticket.id, alice, "Done")
        dispatcher = NoticeDispatcher(flow.store, {"email": smtp}, flow.clock, flow.sink, max_attempts=3)
        assert await dispatcher.run_once() == 1
        row = await flow.pool.fetchrow("SELECT * FROM ticket_notices WHERE ticket_id = $1", ticket.id)
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert "refused jane@example.com" in row["last_error"]
        attempted = flow.sink.events[-1]
        assert isinstance(attempted, NoticeAttempted)
        assert (attempted.ticket_id, attempted.sent, attempted.error) == (ticket.id, False, row["last_error"])
        assert row["next_attempt_at"] == flow.clock.now + timedelta(seconds=30)
        assert await dispatcher.run_once() == 0  # not due yet
        flow.clock.now += timedelta(seconds=30)
        assert await dispatcher.run_once() == 1
        row = await flow.pool.fetchrow("SELECT * FROM ticket_notices WHERE ticket_id = $1", ticket.id)
        assert row["next_attempt_at"] == flow.clock.now + timedelta(seconds=60)
        handler.refuse = False
        flow.clock.now += timedelta(seconds=60)
        assert await dispatcher.run_once() == 1
        assert len(handler.messages) == 1
        sent = (await flow.service.detail(ticket.id)).notices[0]
        assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)


async def test_a_notice_that_keeps_failing_is_marked_failed_not_dropped(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        await flow.service.resolve(ticket.id, alice, "Done")
        # Nothing listens on port 9 (discard) on loopback: connection refused.
        smtp = SmtpChannel(SmtpSettings("127.0.0.1", 9, from_address="support@example.com", timeout_s=2))
        dispatcher = NoticeDispatcher(flow.store, {"email": smtp}, flow.clock, flow.sink, max_attempts=2)
        for _ in range(2):
            assert await dispatcher.run_once() == 1
            flow.clock.now += timedelta(hours=1)
        failed = (await flow.service.detail(ticket.id)).notices[0]
        assert (failed.status, failed.attempts) == ("failed", 2)
        assert failed.last_error
        assert await dispatcher.run_once() == 0


@dataclass
class CountingChannel:
    name: str = "email"
    delivered: list[int] = field(default_factory=list)

    def recipient(self, ticket: Any) -> str | None:
        return "x@example.com"

    async def deliver(self, notice: Notice) -> None:
        await asyncio.sleep(0)
        self.delivered.append(notice.id)


async def test_two_dispatchers_on_two_nodes_deliver_each_notice_once(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        for _ in range(12):
            ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
            await flow.service.resolve(ticket.id, alice, "Done")
        channel = CountingChannel()
        first = NoticeDispatcher(flow.store, {"email": channel}, flow.clock, flow.sink, batch=3)
        second = NoticeDispatcher(flow.store, {"email": channel}, flow.clock, flow.sink, batch=3)
        counts = await asyncio.gather(first.run_once(), second.run_once())
        assert sum(counts) == 12
        assert sorted(channel.delivered) == sorted(set(channel.delivered))
        assert len(channel.delivered) == 12


async def test_a_customer_with_a_ticket_past_its_deadline_counts_as_escalated(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        alice = Actor.agent(flow.alice)
        ticket = await flow.service.open(flow.new(), alice, assignee_id=flow.alice)
        assert not await flow.service.has_overdue_ticket(flow.jane)
        assert ticket.first_response_due is not None
        flow.clock.now = ticket.first_response_due + timedelta(minutes=1)
        assert await flow.service.has_overdue_ticket(flow.jane)
        assert not await flow.service.has_overdue_ticket(flow.vera)
        responded = await flow.service.respond(ticket.id, alice, "On it")
        assert responded.resolution_due is not None
        assert responded.resolution_due > flow.clock.now
        assert not await flow.service.has_overdue_ticket(flow.jane)
        await flow.service.wait_on_customer(ticket.id, alice, "Send the invoice number")
        flow.clock.now = responded.resolution_due + timedelta(days=1)
        # The clock is stopped while waiting on the customer: not overdue.
        assert not await flow.service.has_overdue_ticket(flow.jane)
        await flow.service.resume(ticket.id, alice)
        assert await flow.service.has_overdue_ticket(flow.jane) is False
        await flow.service.resolve(ticket.id, alice, "Done")
        assert not await flow.service.has_overdue_ticket(flow.jane)


async def loads_match_open_tickets(pool: asyncpg.Pool) -> None:
    """The workloads the trigger keeps are the open tickets each agent holds, counted."""
    kept = await pool.fetch(
        "SELECT agent_id, open_count FROM ticket_handler_loads WHERE open_count <> 0 ORDER BY agent_id"
    )
    counted = await pool.fetch(
        """
        SELECT assignee_id AS agent_id, count(*) AS open_count FROM tickets
        WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved', 'closed')
        GROUP BY assignee_id ORDER BY assignee_id
        """
    )
    assert [tuple(r) for r in kept] == [tuple(r) for r in counted]


async def test_the_kept_workloads_follow_every_change(flow: Flow) -> None:
    boss = Actor.agent(flow.carol, supervisor=True)
    async with asyncio.timeout(TIMEOUT_S):
        first = await flow.service.open(flow.new(), Actor.agent(flow.alice), auto_assign=True)
        second = await flow.service.open(flow.new(), Actor.agent(flow.alice), assignee_id=flow.bob)
        await loads_match_open_tickets(flow.pool)
        assert {h.agent_id: h.open_count for h in await flow.service.handlers()} == {
            flow.alice: 1,
            flow.bob: 1,
        }
        await flow.service.assign(first.id, boss, assignee_id=flow.bob)
        await loads_match_open_tickets(flow.pool)
        await flow.service.resolve(second.id, Actor.agent(flow.bob), "Refunded")
        await loads_match_open_tickets(flow.pool)
        await flow.service.reopen(second.id, Actor.agent(flow.alice), "Still charged")
        await loads_match_open_tickets(flow.pool)
        await flow.service.resolve(second.id, Actor.agent(flow.bob), "Refunded again")
        await flow.service.confirm(second.id, Actor.agent(flow.alice))
        await loads_match_open_tickets(flow.pool)
        assert {h.agent_id: h.open_count for h in await flow.service.handlers()} == {
            flow.alice: 0,
            flow.bob: 1,
        }
        await flow.pool.execute("DELETE FROM tickets WHERE id = $1", first.id)
        await loads_match_open_tickets(flow.pool)
        assert {h.agent_id: h.open_count for h in await flow.service.handlers()} == {
            flow.alice: 0,
            flow.bob: 0,
        }


async def test_an_auto_assigned_intake_is_stored_as_opened_then_assigned(flow: Flow) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        ticket = await flow.service.open(flow.new(), Actor.agent(flow.alice), auto_assign=True)
    opened, assigned = flow.sink.events
    assert isinstance(opened, TicketOpened)
    assert isinstance(assigned, TicketAssigned)
    assert (opened.ticket.status, opened.ticket.version, opened.ticket.assignee_id) == (
        TicketStatus.NEW,
        1,
        None,
    )
    assert opened.ticket == replace(
        ticket, status=TicketStatus.NEW, version=1, assignee_id=None, department=None
    )
    assert assigned.ticket == ticket == await flow.service.get(ticket.id)
    detail = await flow.service.detail(ticket.id)
    assert list(detail.entries) == [opened.entry, assigned.entry]
    assert opened.entry.id < assigned.entry.id
