"""The escalation sweep on a real PostgreSQL: exactly once with two sweepers, takeover after a crash,
and alert delivery with retries over real SMTP and a real webhook receiver."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from agents import AccountService
from agents.store import AccountStore
from customers.service import CustomerService
from customers.store import CustomerStore
from hotline.settings import CONFIG_DIR
from tests.app_fixtures import FAST_HASHER
from tests.db.test_ticket_service import (  # noqa: F401 (the SMTP server and ticket flow fixtures)
    Flow,
    Inbox,
    flow,
    inbox,
    loads_match_open_tickets,
)
from tickets.alarms import (
    WATCHES_TTL_S,
    AlarmService,
    AlertDispatcher,
    DeliveryPlan,
    EmailAlertChannel,
    EscalationSweeper,
)
from tickets.escalation import load_escalation_policy
from tickets.escalation_store import EscalationStore
from tickets.events import AlertDeliveryAttempted, AlertRaised, TicketEscalated
from tickets.model import CUSTOMER, Actor, TicketStatus
from tickets.sla import load_sla_policy
from tickets.smtp import SmtpChannel, SmtpSettings
from tickets.store import TicketStore
from tickets.webhook import SIGNATURE_HEADER, WebhookAlertChannel, WebhookSettings, sign

pytestmark = pytest.mark.db
TIMEOUT_S = 30
# Far longer than the sweep of one ticket takes; a sweep blocked by a lock never ends.
SWEEP_WHILE_LOCKED_S = 5
SLA = load_sla_policy(
    CONFIG_DIR / "sla.toml", CONFIG_DIR / "calendar.toml", tiers=("vip", "gold", "standard")
)
POLICY = load_escalation_policy(CONFIG_DIR / "escalation.toml", SLA)
# A Tuesday, 10:00 in Ho Chi Minh City: inside business hours.
T0 = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sink:
    events: list[object] = field(default_factory=list)

    def publish(self, event: object) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def breached_tickets(
    pool: asyncpg.Pool, count: int, *, opened: datetime = T0 - timedelta(days=5)
) -> None:
    """`count` open tickets whose first-response and resolution deadlines passed an hour before T0."""
    await pool.execute(
        """
        INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_tier,
                             tier_rank, top_tier, created_at, updated_at, first_response_due, resolution_due)
        SELECT 'new', 'Ticket ' || n, 'billing', 'phone', 'normal', 1, 'standard', 0, false,
               $2, $2, $3, $3
        FROM generate_series(1, $1) AS n
        """,
        count,
        opened,
        T0 - timedelta(hours=1),
    )


def sweeper(
    pool: asyncpg.Pool, clock: Clock, sink: Sink, *, batch: int = 25, plan: DeliveryPlan | None = None
) -> EscalationSweeper:
    return EscalationSweeper(
        EscalationStore(pool),
        POLICY,
        plan or DeliveryPlan(email=True),
        clock,
        sink,
        agents=accounts(pool),
        lease_s=60,
        batch=batch,
    )


def accounts(pool: asyncpg.Pool) -> AccountService:
    return AccountService(AccountStore(pool), token_ttl_s=3600, hasher=FAST_HASHER)


def alarm_service(
    pool: asyncpg.Pool,
    calls: Calls,
    clock: Clock,
    sink: Sink,
    monotonic: Callable[[], float] = time.monotonic,
) -> AlarmService:
    return AlarmService(
        EscalationStore(pool),
        POLICY,
        DeliveryPlan(),
        calls,
        clock,
        sink,
        agents=accounts(pool),
        customers=CustomerService(CustomerStore(pool)),
        monotonic=monotonic,
    )


@pytest.fixture
async def second_pool(app_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Another node's own connections to the same database."""
    other = await asyncpg.create_pool(app_database_url, min_size=1, max_size=3)
    assert other is not None
    yield other
    await other.close()


async def test_two_sweepers_fire_every_step_exactly_once(
    pool: asyncpg.Pool, second_pool: asyncpg.Pool
) -> None:
    await breached_tickets(pool, 600)
    clock = Clock()
    one, two = Sink(), Sink()
    async with asyncio.timeout(TIMEOUT_S):
        looked = await asyncio.gather(
            sweeper(pool, clock, one).run_once(), sweeper(second_pool, clock, two).run_once()
        )
    # Both nodes did part of the work, and together all of it, once.
    assert all(n > 0 for n in looked)
    assert sum(looked) == 600
    raised = one.of(AlertRaised) + two.of(AlertRaised)
    rows = await pool.fetch("SELECT id, dedupe_key, kind FROM alerts")
    assert sorted(e.alert_id for e in raised) == sorted(r["id"] for r in rows)
    per_ticket = await pool.fetch(
        "SELECT ticket_id, array_agg(kind ORDER BY kind) AS kinds FROM alerts GROUP BY ticket_id"
    )
    assert len(per_ticket) == 600
    # Both deadlines passed and 5 days is overdue: three alarms, and the team lead is told (level 1).
    assert {tuple(r["kinds"]) for r in per_ticket} == {("breach", "breach", "escalation", "overdue")}
    escalated = one.of(TicketEscalated) + two.of(TicketEscalated)
    assert len(escalated) == 600
    assert {e.level for e in escalated} == {1}
    # Nothing more is due until the department director's turn, an hour later.
    assert await pool.fetchval("SELECT count(*) FROM ticket_escalations WHERE check_at <= $1", T0) == 0
    assert await pool.fetchval("SELECT min(check_at) FROM ticket_escalations") == T0 + timedelta(hours=1)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sweeper(pool, clock, one).run_once() == 0
        clock.now = T0 + timedelta(hours=1)
        looked = await asyncio.gather(
            sweeper(pool, clock, one).run_once(), sweeper(second_pool, clock, two).run_once()
        )
    assert sum(looked) == 600
    levels = await pool.fetch(
        "SELECT level, count(*) FROM alerts WHERE kind = 'escalation' GROUP BY level ORDER BY level"
    )
    assert [(r["level"], r["count"]) for r in levels] == [(1, 600), (2, 600)]
    deliveries = await pool.fetch(
        "SELECT channel, count(*) FROM alert_deliveries GROUP BY channel ORDER BY channel"
    )
    # Every alert on the live feed; the escalations by email to the rank holder (both have an address).
    assert [(r["channel"], r["count"]) for r in deliveries] == [("email", 1200), ("live", 3000)]


async def test_a_crashed_sweepers_claims_are_taken_over_after_the_lease(
    pool: asyncpg.Pool, second_pool: asyncpg.Pool
) -> None:
    await breached_tickets(pool, 50)
    clock = Clock()
    sink = Sink()
    crashed = EscalationStore(second_pool)
    async with asyncio.timeout(TIMEOUT_S):
        # The first node claims everything and dies before writing anything back.
        claimed = await crashed.claim_due(clock.now, 60, 1000)
        assert len(claimed) == 50
        survivor = sweeper(pool, clock, sink)
        assert await survivor.run_once() == 0  # still leased
        clock.now += timedelta(seconds=59)
        assert await survivor.run_once() == 0
        clock.now += timedelta(seconds=1)
        assert await survivor.run_once() == 50
    assert len(sink.of(TicketEscalated)) == 50
    stored = await pool.fetchval("SELECT count(*) FROM alerts")
    # The "dead" node wakes up and finishes its stale work: nothing is stored or sent twice.
    from tickets.escalation import evaluate
    from tickets.escalation_store import SweptTicket

    swept = []
    for item in claimed:
        result = evaluate(POLICY, item.ticket, item.state, T0, None)  # no customer: no watch owner
        swept.append(
            SweptTicket(
                item.ticket.ticket_id,
                None,
                item.leased_until,
                result.state,
                result.next_check_at,
                result.alarms,
            )
        )
    async with asyncio.timeout(TIMEOUT_S):
        late = await crashed.finish_sweep(swept, {}, T0)
    assert late == []
    assert await pool.fetchval("SELECT count(*) FROM alerts") == stored
    # The survivor's next look (the director, an hour after it told the team lead) still stands.
    assert await pool.fetchval("SELECT min(check_at) FROM ticket_escalations") == clock.now + timedelta(
        hours=1
    )


async def test_a_restart_loses_nothing(pool: asyncpg.Pool) -> None:
    await breached_tickets(pool, 10)
    clock = Clock()
    async with asyncio.timeout(TIMEOUT_S):
        assert await sweeper(pool, clock, Sink()).run_once() == 10
        # A new process (new objects, nothing in memory) picks up where the ladder stands.
        clock.now += timedelta(hours=1)
        sink = Sink()
        assert await sweeper(pool, clock, sink).run_once() == 10
    assert {e.level for e in sink.of(TicketEscalated)} == {2}


async def test_acknowledging_stops_the_climb(pool: asyncpg.Pool) -> None:
    await breached_tickets(pool, 1)
    clock = Clock()
    sink = Sink()
    alarms = alarm_service(pool, Calls(0), clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink).run_once()
        (level1,) = [a for a in await alarms.feed(agent_id=None) if a.alert.kind == "escalation"]
        agent = await pool.fetchval(
            "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('carol', 'Carol', 'x', 'supervisor') RETURNING id"
        )
        view = await alarms.acknowledge(level1.alert.id, agent, own_only=False)
        assert view.alert.acknowledged_by == agent
        clock.now += timedelta(days=2)
        assert await sweeper(pool, clock, sink).run_once() == 1
    assert [e.level for e in sink.of(TicketEscalated)] == [1]
    (row,) = await alarms.escalated()
    assert row.acknowledged_at == T0


async def test_a_snooze_holds_the_climb_until_it_ends(pool: asyncpg.Pool) -> None:
    await breached_tickets(pool, 1)
    clock = Clock()
    sink = Sink()
    alarms = alarm_service(pool, Calls(0), clock, sink)
    agent = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('carol', 'Carol', 'x', 'supervisor') RETURNING id"
    )
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink).run_once()
        (level1,) = [a for a in await alarms.feed(agent_id=None) if a.alert.kind == "escalation"]
        await alarms.snooze(level1.alert.id, agent, 2 * 3600, own_only=False)
        clock.now += timedelta(hours=1, minutes=59)
        await sweeper(pool, clock, sink).run_once()
        assert [e.level for e in sink.of(TicketEscalated)] == [1]
        # The snooze ends at 12:00, the lunch break: the director is told when the office reopens.
        clock.now = T0 + timedelta(hours=2)
        await sweeper(pool, clock, sink).run_once()
        assert [e.level for e in sink.of(TicketEscalated)] == [1]
        clock.now = T0 + timedelta(hours=3)
        await sweeper(pool, clock, sink).run_once()
    assert [e.level for e in sink.of(TicketEscalated)] == [1, 2]


@dataclass
class Calls:
    count: int

    async def calls_since(self, customer_id: int, since: datetime) -> int:
        return self.count


async def test_a_watched_customer_calling_again_and_again_alerts_the_owner_once(pool: asyncpg.Pool) -> None:
    jane = await pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C1', 'Jane Doe', 'standard') RETURNING id"
    )
    olivia = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('olivia', 'Olivia', 'x', 'agent') RETURNING id"
    )
    clock, sink, calls = Clock(), Sink(), Calls(2)
    alarms = alarm_service(pool, calls, clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        assert await alarms.customer_called(jane, "Jane Doe", top_tier=False) is None  # not watched
        await alarms.watch(jane, olivia, "olivia@example.com", "Key account", by=olivia)
        assert await alarms.customer_called(jane, "Jane Doe", top_tier=False) is None  # two calls
        calls.count = 3
        alert = await alarms.customer_called(jane, "Jane Doe", top_tier=False)
        assert alert is not None
        assert alert.agent_id == olivia
        calls.count = 4
        assert await alarms.customer_called(jane, "Jane Doe", top_tier=False) is None  # same burst
        (view,) = await alarms.feed(agent_id=olivia)
        (watched,) = await alarms.watched()
    assert (watched.customer_name, watched.customer_tier, watched.owner_name) == (
        "Jane Doe",
        "standard",
        "Olivia",
    )
    assert {(d["channel"], d["recipient"]) for d in view.deliveries} == {
        ("live", "supervisors"),
        ("email", "olivia@example.com"),
    }
    assert len(sink.of(AlertRaised)) == 1


async def test_a_watch_made_on_another_node_counts_here_within_the_watches_ttl(pool: asyncpg.Pool) -> None:
    jane = await pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C1', 'Jane Doe', 'standard') RETURNING id"
    )
    olivia = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('olivia', 'Olivia', 'x', 'agent') RETURNING id"
    )
    clock, sink, calls, seconds = Clock(), Sink(), Calls(3), [0.0]
    here = alarm_service(pool, calls, clock, sink, monotonic=lambda: seconds[0])
    elsewhere = alarm_service(pool, calls, clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        assert await here.customer_called(jane, "Jane Doe", top_tier=False) is None  # nobody watches
        await elsewhere.watch(jane, olivia, None, "Key account", by=olivia)
        seconds[0] = WATCHES_TTL_S - 1
        assert await here.customer_called(jane, "Jane Doe", top_tier=False) is None  # not known here yet
        seconds[0] = WATCHES_TTL_S
        alert = await here.customer_called(jane, "Jane Doe", top_tier=False)
    assert alert is not None
    assert alert.agent_id == olivia


async def test_an_escalation_is_addressed_to_the_account_the_policy_names(pool: asyncpg.Pool) -> None:
    # The default department's team lead is "Carol Le", username carol (config/escalation.toml).
    carol = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('carol', 'Carol', 'x', 'supervisor') RETURNING id"
    )
    await breached_tickets(pool, 1)
    clock, sink = Clock(), Sink()
    async with asyncio.timeout(TIMEOUT_S):
        assert await sweeper(pool, clock, sink).run_once() == 1
        carols = await alarm_service(pool, Calls(0), clock, sink).feed(agent_id=carol)
    (escalation,) = [a.alert for a in carols if a.alert.kind == "escalation"]
    assert (escalation.level, escalation.recipient_name) == (1, "Carol Le")
    # The director has no account: told by email, addressed to nobody's live feed.
    clock.now += timedelta(hours=1)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sweeper(pool, clock, sink).run_once() == 1
    director = await pool.fetchrow("SELECT agent_id, recipient_name FROM alerts WHERE level = 2")
    assert (director["agent_id"], director["recipient_name"]) == (None, "Duc Tran")


@dataclass(frozen=True)
class Logged:
    customer_id: int | None
    customer_name: str | None
    customer_tier: str | None


async def test_a_top_tier_customer_calling_again_and_again_alerts_the_team_lead(pool: asyncpg.Pool) -> None:
    vera = await pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C2', 'Vera VIP', 'vip') RETURNING id"
    )
    carol = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('carol', 'Carol', 'x', 'supervisor') RETURNING id"
    )
    clock, sink = Clock(), Sink()
    alarms = alarm_service(pool, Calls(3), clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        # An unknown caller, and a known one who is neither watched nor top tier: no alarm.
        await alarms.call_logged(Logged(None, None, None))
        await alarms.call_logged(Logged(vera, "Vera VIP", "gold"))
        assert sink.of(AlertRaised) == []
        # The top tier ("vip", the SLA's first) is the alarms' own question.
        await alarms.call_logged(Logged(vera, "Vera VIP", "vip"))
    (raised,) = sink.of(AlertRaised)
    assert (raised.kind, raised.customer_id, raised.agent_id) == ("customer_calls", vera, carol)
    assert raised.title == "Vera VIP (top-tier) called 3 times in 24 h"


async def test_a_new_ticket_of_a_watched_customer_alerts_the_owner(pool: asyncpg.Pool) -> None:
    jane = await pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C1', 'Jane Doe', 'standard') RETURNING id"
    )
    olivia = await pool.fetchval(
        "INSERT INTO agents (username, display_name, password_hash, role) VALUES ('olivia', 'Olivia', 'x', 'agent') RETURNING id"
    )
    clock, sink = Clock(), Sink()
    alarms = alarm_service(pool, Calls(0), clock, sink)
    await alarms.watch(jane, olivia, None, "", by=olivia)
    await pool.execute(
        """
        INSERT INTO tickets (status, subject, category, channel, priority, priority_rank, customer_id, customer_name,
                             customer_tier, tier_rank, top_tier, created_at, updated_at, first_response_due, resolution_due)
        VALUES ('new', 'Router dead', 'technical', 'phone', 'normal', 1, $1, 'Jane Doe', 'standard', 0, false, $2, $2, $3, $3)
        """,
        jane,
        T0,
        T0 + timedelta(hours=4),
    )
    async with asyncio.timeout(TIMEOUT_S):
        assert await sweeper(pool, clock, sink).run_once() == 1
    (raised,) = sink.of(AlertRaised)
    assert raised.kind == "customer_ticket"
    assert raised.agent_id == olivia
    assert "Jane Doe" in raised.title


async def test_a_sweep_and_a_ticket_change_take_their_locks_in_one_order(pool: asyncpg.Pool) -> None:
    """A change holds its ticket while it writes the ticket's escalation row; the sweep writes that row and
    stores alarms that reference the ticket. If the sweep had to wait for the ticket, each would wait
    for the other (PostgreSQL reports a deadlock and the change answers service.retry)."""
    await breached_tickets(pool, 1)
    ticket_id = await pool.fetchval("SELECT id FROM tickets")
    clock, sink = Clock(), Sink()
    async with asyncio.timeout(TIMEOUT_S), TicketStore(pool).unit() as unit:
        ticket = await unit.lock(ticket_id)
        # The sweep stores the ticket's alarms while the change holds the ticket: it does not wait.
        assert await asyncio.wait_for(sweeper(pool, clock, sink).run_once(), SWEEP_WHILE_LOCKED_S) == 1
        # The change then writes the escalation row the sweep wrote, and commits.
        saved = await unit.save(replace(ticket, status=TicketStatus.ASSIGNED, updated_at=T0))
    assert saved.version == ticket.version + 1
    assert {a.kind for a in sink.of(AlertRaised)} == {"breach", "overdue", "escalation"}
    assert (
        await pool.fetchval("SELECT check_at FROM ticket_escalations WHERE ticket_id = $1", ticket_id) == T0
    )


async def test_intake_transitions_and_sweeps_at_once_are_never_refused(flow: Flow) -> None:  # noqa: F811
    """Auto-assigned intakes, crosswise reassignments, transitions and sweeps storing alarms for the
    same tickets, all at once: nobody waits for another in a circle (a deadlock would raise here)."""
    alice, bob = Actor.agent(flow.alice), Actor.agent(flow.bob)
    boss = Actor.agent(flow.carol, supervisor=True)
    sink = Sink()
    async with asyncio.timeout(TIMEOUT_S):
        held = [
            await flow.service.open(flow.new(), alice, assignee_id=who)
            for who in (flow.alice, flow.bob, flow.alice, flow.bob)
        ]
        # A week after the intake (T0): every ticket's deadlines passed, so each sweep stores alarms.
        await asyncio.gather(
            *(flow.service.open(flow.new(), CUSTOMER, auto_assign=True) for _ in range(8)),
            flow.service.assign(held[0].id, boss, assignee_id=flow.bob),
            flow.service.assign(held[1].id, boss, assignee_id=flow.alice),
            flow.service.respond(held[2].id, alice, "Looking into it"),
            flow.service.resolve(held[3].id, bob, "Refunded"),
            *(sweeper(flow.pool, Clock(), sink).run_once() for _ in range(3)),
        )
    await loads_match_open_tickets(flow.pool)
    # Auto-assignment never fills a handler past capacity; a supervisor may, once here for each of
    # them, when the intakes happened to fill that handler first.
    by_supervisor = {flow.alice: 1, flow.bob: 1}
    assert all(h.open_count <= h.capacity + by_supervisor[h.agent_id] for h in await flow.service.handlers())
    assert sink.of(AlertRaised)


# --------------------------------------------------------------------------------------- delivery


async def test_an_escalation_email_is_retried_with_backoff_until_it_goes_out(
    pool: asyncpg.Pool,
    inbox: tuple[Inbox, int],  # noqa: F811 (the imported fixture)
) -> None:
    handler, port = inbox
    handler.refuse = True
    await breached_tickets(pool, 1)
    clock, sink = Clock(), Sink()
    store = EscalationStore(pool)
    smtp = SmtpChannel(SmtpSettings("127.0.0.1", port, from_address="alerts@example.com"))
    dispatcher = AlertDispatcher(store, {"email": EmailAlertChannel(smtp), "live": Delivered()}, clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink).run_once()
        assert await dispatcher.run_once() == 5  # four live, one email
        row = await pool.fetchrow("SELECT * FROM alert_deliveries WHERE channel = 'email'")
        assert (row["status"], row["attempts"], row["recipient"]) == ("pending", 1, "carol@hotline.invalid")
        assert "refused carol@hotline.invalid" in row["last_error"]
        assert row["next_attempt_at"] == clock.now + timedelta(seconds=30)
        failed = [e for e in sink.of(AlertDeliveryAttempted) if not e.sent]
        assert [(e.channel, e.gave_up) for e in failed] == [("email", False)]
        assert await dispatcher.run_once() == 0  # not due yet
        handler.refuse = False
        clock.now += timedelta(seconds=30)
        assert await dispatcher.run_once() == 1
    row = await pool.fetchrow("SELECT * FROM alert_deliveries WHERE channel = 'email'")
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    (message,) = handler.messages
    assert message["To"] == "carol@hotline.invalid"
    # A long subject is folded onto a continuation line; unfolded it reads as sent.
    assert str(message["Subject"]).strip().startswith("Hotline alert: Ticket #")
    assert "escalated to team lead" in message["Subject"]
    assert "Escalation level: 1 (team lead)" in message.get_content()


async def test_a_delivery_that_keeps_failing_is_marked_failed_and_kept(pool: asyncpg.Pool) -> None:
    await breached_tickets(pool, 1)
    clock, sink = Clock(), Sink()
    store = EscalationStore(pool)
    # No webhook channel on this node: every attempt fails, and the row says so.
    plan = DeliveryPlan(email=False, webhook_url="http://127.0.0.1:9/hook")
    dispatcher = AlertDispatcher(store, {"live": Delivered()}, clock, sink, max_attempts=2)
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink, plan=plan).run_once()
        await dispatcher.run_once()
        clock.now += timedelta(seconds=30)
        await dispatcher.run_once()
    rows = await pool.fetch(
        "SELECT status, attempts, last_error FROM alert_deliveries WHERE channel = 'webhook'"
    )
    assert len(rows) == 4  # two breaches, the overdue alarm and the escalation
    assert {(r["status"], r["attempts"]) for r in rows} == {("failed", 2)}
    assert all("not configured" in r["last_error"] for r in rows)
    assert any(e.gave_up for e in sink.of(AlertDeliveryAttempted))


class Delivered:
    """A live channel that always succeeds (the hub is tested in the web tests)."""

    name = "live"

    async def deliver(self, delivery: object) -> None:
        return None


@dataclass
class Receiver:
    """A webhook receiver that checks the HMAC signature of each body."""

    secret: str
    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), sign(self.secret, body)):
            self.bad_signatures += 1
            return web.Response(status=401)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.received.append(await request.json())
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    box = Receiver(secret="s3cret-for-tests")
    app = web.Application()
    app.router.add_post("/hook", box.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield box, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_the_webhook_is_signed_and_retried_after_an_error(
    pool: asyncpg.Pool, receiver: tuple[Receiver, str]
) -> None:
    box, url = receiver
    box.answers = [500]
    await breached_tickets(pool, 1)
    clock, sink = Clock(), Sink()
    store = EscalationStore(pool)
    plan = DeliveryPlan(email=False, webhook_url=url)
    webhook = WebhookAlertChannel(WebhookSettings(url, "s3cret-for-tests"))
    dispatcher = AlertDispatcher(store, {"live": Delivered(), "webhook": webhook}, clock, sink)
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink, plan=plan).run_once()
        await dispatcher.run_once()
        failed = await pool.fetch(
            "SELECT last_error FROM alert_deliveries WHERE channel = 'webhook' AND status = 'pending'"
        )
        assert [r["last_error"] for r in failed] == [
            "webhook delivery failed: the receiver answered HTTP 500"
        ]
        assert len(box.received) == 3
        clock.now += timedelta(seconds=30)
        assert await dispatcher.run_once() == 1
    assert box.bad_signatures == 0
    assert len(box.received) == 4
    assert {r["kind"] for r in box.received} == {"breach", "overdue", "escalation"}
    assert await pool.fetchval("SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == 0


async def test_a_webhook_signed_with_another_secret_is_refused_and_shown(
    pool: asyncpg.Pool, receiver: tuple[Receiver, str]
) -> None:
    box, url = receiver
    await breached_tickets(pool, 1)
    clock, sink = Clock(), Sink()
    plan = DeliveryPlan(email=False, webhook_url=url)
    webhook = WebhookAlertChannel(WebhookSettings(url, "wrong-secret"))
    dispatcher = AlertDispatcher(
        EscalationStore(pool), {"live": Delivered(), "webhook": webhook}, clock, sink
    )
    async with asyncio.timeout(TIMEOUT_S):
        await sweeper(pool, clock, sink, plan=plan).run_once()
        await dispatcher.run_once()
    assert box.bad_signatures == 4
    assert box.received == []
    errors = await pool.fetch("SELECT DISTINCT last_error FROM alert_deliveries WHERE channel = 'webhook'")
    assert [r["last_error"] for r in errors] == ["webhook delivery failed: the receiver answered HTTP 401"]
