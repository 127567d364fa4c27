"""`hotline demo`: Hotline with the built-in PBX simulator and a seeded call center."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from cti.ami_client import AmiSettings
from cti.campaigns import CampaignSpec, DialMethod
from cti.dialer_store import DialerStore
from cti.leads_import import import_leads, parse_leads
from cti.simulator import PbxSimulator, SimulatorSettings
from cti.store import CallLogStore
from customers.model import NewCustomer, Tier
from customers.phone import normalise_phone
from customers.store import CustomerStore
from hotline import app
from hotline.settings import Settings
from tickets.alarms import AlarmService, EscalationSweeper
from tickets.escalation_store import EscalationStore
from tickets.events import TicketEvent
from tickets.model import Actor, Channel, NewTicket, Priority
from web_agent.accounts import AccountService, Role
from web_agent.store import AccountStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoAgent:
    """A seeded account; demo passwords are printed at start-up, so never reuse them."""

    username: str
    display_name: str
    role: Role
    password: str
    interfaces: tuple[str, ...]


DEMO_AGENTS = (
    DemoAgent("alice", "Alice Nguyen", Role.AGENT, "alice-demo-1", ("Local/1001@agents",)),
    DemoAgent("bob", "Bob Tran", Role.AGENT, "bob-demo-1", ("Local/1002@agents",)),
    DemoAgent("carol", "Carol Le", Role.SUPERVISOR, "carol-demo-1", ()),
)

# (name, phone as a caller would dial it, tier, email, birthday month-day or None)
DEMO_CUSTOMERS = (
    ("Jane Doe", "0901234567", Tier.GOLD, "jane.doe@example.com", (3, 14)),
    ("Trần Văn Bình", "0912345678", Tier.VIP, "binh.tran@example.com", None),
    ("An Nguyen", "0901000001", Tier.STANDARD, "an.nguyen@example.com", None),
    ("Binh Tran", "0901000002", Tier.STANDARD, None, (7, 2)),
    ("Cuong Le", "0901000003", Tier.GOLD, "cuong.le@example.com", None),
    ("Vera VIP", "0908000042", Tier.VIP, "vera@example.com", None),
    ("Phạm Thị Hoa", "0987654321", Tier.STANDARD, "hoa.pham@example.com", None),
    ("Lê Minh Đức", "0934567890", Tier.VIP, "duc.le@example.com", None),
)
# (username, department, skills): who takes which tickets.
DEMO_HANDLERS = (
    ("alice", "support", ("billing", "account", "other")),
    ("bob", "technical", ("technical", "delivery", "other")),
)
DEMO_TICKETS = (
    ("Jane Doe", "Charged twice for the November invoice", "billing", Priority.HIGH),
    ("Trần Văn Bình", "Internet drops every evening after 20:00", "technical", Priority.URGENT),
    ("An Nguyen", "Change the billing address", "account", Priority.LOW),
    ("Cuong Le", "Router delivery is two days late", "delivery", Priority.NORMAL),
)
UNKNOWN_CALLERS = (("0977000111", "Unknown Caller"), ("0966123123", "Mai Hoang"), ("0355111222", ""))
HISTORY = (
    "Asked about the March invoice; explained the late fee",
    "Reported slow internet in the evening; line test passed",
    "Changed plan to Family 200",
    "Missed call: abandoned after 1:10 waiting",
    "Confirmed technician visit for Thursday",
)


async def seed(pool: asyncpg.Pool, settings: Settings) -> bool:
    """Create the demo agents and customers unless accounts already exist; True if it seeded."""
    accounts_store = AccountStore(pool)
    if await accounts_store.list_agents():
        return False
    accounts = AccountService(accounts_store, token_ttl_s=settings.web.token_ttl_s)
    for agent in DEMO_AGENTS:
        await accounts.create_agent(
            username=agent.username,
            display_name=agent.display_name,
            password=agent.password,
            role=agent.role,
            interfaces=list(agent.interfaces),
        )
    customers = CustomerStore(pool, default_country=settings.customers.default_country)
    now = datetime.now(UTC)
    created = []
    for index, (name, phone, tier, email, birthday) in enumerate(DEMO_CUSTOMERS):
        customer = await customers.create(
            NewCustomer.create(
                name=name,
                phones=[phone],
                email=email,
                tier=tier,
                birthday=date(1985 + index, *birthday) if birthday else None,
                customer_no=f"C{1001 + index}",
                default_country=settings.customers.default_country,
            )
        )
        created.append(customer)
        for days_ago, summary in enumerate(HISTORY[: 2 + index % 4]):
            when = now - timedelta(days=3 * days_ago + 1, hours=index)
            await customers.add_interaction(customer.id, when, "call", summary, None)
    ids = {c.name: c.id for c in created}
    await _seed_tickets(pool, settings, customers, ids)
    await _seed_alarms(pool, settings, customers, ids)
    await _seed_campaign(pool, settings)
    return True


# A ticket opened this long ago is overdue (3 days) and has climbed the ladder by start-up.
OVERDUE_AGE = timedelta(days=4)


async def _seed_alarms(
    pool: asyncpg.Pool, settings: Settings, customers: CustomerStore, ids: dict[str, int]
) -> None:
    """An overdue ticket with its escalation history, and Jane Doe watched by Alice.

    The ticket is opened four days back and the real sweep is replayed hour by hour up to now, so
    the alarm page shows warnings, breaches and each rank told as the policy (and its business
    hours) would have done it. Jane's repeated calls (the simulator plays her number) alert Alice.
    """
    opened_at = datetime.now(UTC) - OVERDUE_AGE
    clock = _ReplayClock(opened_at)
    events = _Collected()
    tickets, _ = app.build_tickets(settings, pool, customers, events, clock)
    agents = {a.username: a for a in await AccountStore(pool).list_agents()}
    new = NewTicket.create(
        subject="Refund for a cancelled contract still not paid",
        description="The customer cancelled in person and was promised a refund within a week.",
        category="billing",
        channel=Channel.PHONE,
        priority=Priority.HIGH,
        categories=tickets.categories,
        customer_id=ids["Cuong Le"],
    )
    await tickets.open(new, Actor.agent(agents["bob"].id), assignee_id=agents["alice"].id)
    timeline = app.TicketTimeline(customers)
    for event in events.events:
        await timeline.record(event)
    store = EscalationStore(pool)
    sweeper = EscalationSweeper(store, settings.alarms.policy, app.delivery_plan(settings), clock, events)
    while clock.now < datetime.now(UTC):
        await sweeper.run_once()
        clock.now += timedelta(hours=1)
    alarms = AlarmService(
        store,
        settings.alarms.policy,
        app.delivery_plan(settings),
        CallLogStore(pool),
        lambda: datetime.now(UTC),
        events,
    )
    await alarms.watch(
        ids["Jane Doe"],
        agents["alice"].id,
        "alice@hotline.invalid",
        "Key account: tell Alice at once",
        agents["carol"].id,
    )


@dataclass
class _ReplayClock:
    """The seeding's clock: moved forward by hand to replay the sweep over the past days."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _seed_campaign(pool: asyncpg.Pool, settings: Settings) -> None:
    """A paused progressive campaign with a dozen leads: a supervisor starts it from /campaigns."""
    store = DialerStore(pool)
    campaign = await store.create_campaign(
        CampaignSpec(
            name="Winter upgrade offer",
            queue="support",
            dial_method=DialMethod.PROGRESSIVE,
            caller_id='"Hotline" <0281234567>',
            script="Hello, this is Hotline. Your plan qualifies for a free speed upgrade this winter; "
            "may I tell you about it?",
            # A real campaign keeps to daytime in the lead's zone; the demo should dial whenever it is tried.
            window_start=time(0, 0),
            window_end=time(23, 59),
        )
    )
    country = settings.customers.default_country
    rows = "\n".join(f"09030000{n:02d},Lead {n:02d}" for n in range(1, 13))
    parsed = parse_leads(
        f"phone,name\n{rows}\n", lambda raw: normalise_phone(raw, country), settings.dialer.default_timezone
    )
    await import_leads(store, campaign.id, parsed)


async def _seed_tickets(
    pool: asyncpg.Pool, settings: Settings, customers: CustomerStore, ids: dict[str, int]
) -> None:
    """Handler profiles for the demo agents and a few open tickets, so the work lists are not empty."""
    events = _Collected()
    tickets, _ = app.build_tickets(settings, pool, customers, events, lambda: datetime.now(UTC))
    agents = {a.username: a for a in await AccountStore(pool).list_agents()}
    for username, department, skills in DEMO_HANDLERS:
        await tickets.set_handler(agents[username].id, department=department, skills=skills, capacity=8)
    alice = Actor.agent(agents["alice"].id)
    for customer, subject, category, priority in DEMO_TICKETS:
        new = NewTicket.create(
            subject=subject,
            description=subject,
            category=category,
            channel=Channel.PHONE,
            priority=priority,
            categories=tickets.categories,
            customer_id=ids[customer],
        )
        await tickets.open(new, alice, auto_assign=True)
    timeline = app.TicketTimeline(customers)
    for event in events.events:
        await timeline.record(event)


@dataclass
class _Collected:
    """The demo seeding's event sink: ticket events are kept, then written to the timeline."""

    events: list[TicketEvent] = field(default_factory=list)

    def publish(self, event: object) -> None:
        """Keep ticket events; nothing else is published while seeding."""
        if isinstance(event, TicketEvent):
            self.events.append(event)


async def run_demo(settings: Settings, *, calls_per_minute: float) -> None:
    """Start the simulator, seed the database, serve, and print where to sign in."""
    secret = secrets.token_urlsafe(16)
    simulator = PbxSimulator(
        SimulatorSettings(
            secret=secret,
            agent_interfaces=tuple(i for agent in DEMO_AGENTS for i in agent.interfaces),
            calls_per_minute=calls_per_minute,
            caller_numbers=tuple((phone, name) for name, phone, *_ in DEMO_CUSTOMERS) + UNKNOWN_CALLERS,
        )
    )
    await simulator.start()
    traffic = asyncio.get_running_loop().create_task(simulator.run_traffic())
    try:
        ami = AmiSettings(host="127.0.0.1", port=simulator.port, username="hotline", secret=secret)

        async def prepare(pool: asyncpg.Pool) -> None:
            seeded = await seed(pool, settings)
            log.info("demo data %s", "seeded" if seeded else "already present")

        await app.serve(settings, ami, _announce_demo, prepare=prepare)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
        await simulator.close()


def _announce_demo(url: str) -> None:
    lines = [
        "",
        f"  Hotline demo is running at {url}",
        "  The built-in PBX simulator is playing calls into queue 'support'.",
        "  Sign in as:",
        *(
            f"    {a.username:<6} / {a.password:<14} {a.role.value}"
            + (f", phone {', '.join(a.interfaces)}" if a.interfaces else "")
            for a in DEMO_AGENTS
        ),
        "  Press Ctrl-C to stop; data stays in var/.",
        "",
    ]
    print("\n".join(lines), flush=True)
