"""`hotline demo`: Hotline with the built-in PBX simulator and a seeded call center."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from cti.ami_client import AmiSettings
from cti.callback_store import CallbackStore
from cti.callbacks import NewCallback
from cti.campaigns import CampaignSpec, DialMethod
from cti.dialer_store import DialerStore
from cti.leads_import import import_leads, parse_leads
from cti.simulator import PbxSimulator, SimulatorSettings
from customers.model import NewCustomer, Tier
from customers.phone import normalise_phone
from customers.store import CustomerStore
from hotline import app
from hotline.settings import Settings
from tickets.events import TicketEvent
from tickets.model import CUSTOMER, Actor, Channel, NewTicket, Priority
from tickets.service import TicketService
from tickets.store import TicketStore
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
# Whose birthday the demo makes today (the greeting goes out in the log), and who promised whom
# a callback due a minute after the start.
BIRTHDAY_TODAY = "Phạm Thị Hoa"
CALLBACK = ("alice", "Jane Doe", "0901234567", "Promised to confirm the refund of the double charge")
# A month of resolved tickets for the service reports: (category, channel) taken in turn.
HISTORY_DAYS = 30
HISTORY_KINDS = (
    ("billing", Channel.PHONE),
    ("technical", Channel.PHONE),
    ("account", Channel.PORTAL),
    ("technical", Channel.IVR),
    ("delivery", Channel.EMAIL),
    ("billing", Channel.PORTAL),
    ("other", Channel.API),
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
    today = now.astimezone(ZoneInfo(settings.greetings.timezone)).date()
    created = []
    for index, (name, phone, tier, email, birthday) in enumerate(DEMO_CUSTOMERS):
        born = date(1985 + index, *birthday) if birthday else None
        if name == BIRTHDAY_TODAY:
            # 1992 is a leap year, so even a demo started on 29 February has a birthday today.
            born = date(1992, today.month, today.day)
        customer = await customers.create(
            NewCustomer.create(
                name=name,
                phones=[phone],
                email=email,
                tier=tier,
                birthday=born,
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
    await _seed_history(pool, settings, customers, list(ids.values()), now)
    await _seed_campaign(pool, settings)
    await _seed_callback(pool, ids, now)
    return True


async def _seed_callback(pool: asyncpg.Pool, ids: dict[str, int], now: datetime) -> None:
    """A callback alice promised, due a minute after the start: it pops on her desktop."""
    username, customer, number, note = CALLBACK
    agents = {a.username: a for a in await AccountStore(pool).list_agents()}
    new = NewCallback.create(
        customer_id=ids[customer],
        number=number,
        due_at=now + timedelta(minutes=1),
        note=note,
        requested_by="agent",
        agent_id=agents[username].id,
        now=now,
    )
    await CallbackStore(pool).add(new, customer, now)


@dataclass
class _DemoClock:
    """The time the history's tickets see: stepped through the past month."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _seed_history(
    pool: asyncpg.Pool, settings: Settings, customers: CustomerStore, customer_ids: list[int], now: datetime
) -> None:
    """A month of tickets taken in, answered, resolved and confirmed (some reopened first), for the reports.

    No notice channel: these customers were told long ago, and the demo should not mail them now.
    """
    clock = _DemoClock(now - timedelta(days=HISTORY_DAYS))
    service = TicketService(
        TicketStore(pool),
        settings.sla,
        app.CustomerContacts(customers),
        _Collected(),
        channels=(),
        settings=settings.tickets,
        clock=clock,
    )
    agents = {a.username: a for a in await AccountStore(pool).list_agents()}
    opener = Actor.agent(agents["alice"].id)
    count = 0
    for day in range(HISTORY_DAYS, 0, -1):
        # One to four tickets a day, more early in the week, at staggered hours.
        for slot in range(1 + (day * 7) % 4):
            count += 1
            category, channel = HISTORY_KINDS[count % len(HISTORY_KINDS)]
            clock.now = now - timedelta(days=day) + timedelta(hours=slot * 2, minutes=(count * 17) % 60)
            ticket = await service.open(
                NewTicket.create(
                    subject=f"{category.title()} request #{count}",
                    description="From the demo's history",
                    category=category,
                    channel=channel,
                    categories=service.categories,
                    customer_id=customer_ids[count % len(customer_ids)],
                ),
                opener,
                auto_assign=True,
            )
            if ticket.assignee_id is None:
                continue
            handler = Actor.agent(ticket.assignee_id)
            clock.now += timedelta(minutes=10 + (count * 37) % 180)
            await service.respond(ticket.id, handler, "We are looking into it.")
            clock.now += timedelta(hours=1 + (count * 5) % 30)
            await service.resolve(ticket.id, handler, "Done, as discussed on the phone.")
            if count % 6 == 0:
                clock.now += timedelta(hours=3)
                await service.reopen(ticket.id, CUSTOMER, "It happened again this morning.")
                clock.now += timedelta(hours=2 + count % 5)
                await service.resolve(ticket.id, handler, "Replaced the faulty part.")
            clock.now += timedelta(hours=4)
            await service.confirm(ticket.id, CUSTOMER, "Works now, thank you.")


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
    # The demo's birthday greeting goes out whatever the hour it is started at.
    settings = replace(settings, greetings=replace(settings.greetings, send_from_hour=0))
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
