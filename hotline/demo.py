"""`hotline demo`: Hotline with the built-in PBX simulator and a seeded call center."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from agents import AccountService, Role
from agents.store import AccountStore
from cti.ami_client import AmiSettings
from cti.callback_store import CallbackStore
from cti.callbacks import NewCallback
from cti.campaigns import CampaignSpec, DialMethod
from cti.dialer_store import DialerStore
from cti.leads_import import import_leads, parse_leads
from cti.simulator import PbxSimulator, SimulatorSettings
from cti.store import CallLogStore
from customers.model import NewCustomer, Tier
from customers.phone import normalise_phone
from customers.service import CustomerService
from customers.store import CustomerStore
from hotline import app
from hotline.settings import Settings
from hotline.wiring import wire_tickets
from knowledge_base.model import ArticleDraft, Visibility
from knowledge_base.service import Editor, KnowledgeBase
from knowledge_base.store import ArticleStore
from tickets.alarms import AlarmService, EscalationSweeper
from tickets.escalation_store import EscalationStore
from tickets.events import TicketEvent
from tickets.model import CUSTOMER, Actor, Channel, NewTicket, Priority
from tickets.service import TicketService
from tickets.store import TicketStore

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
# A month of resolved tickets for the service reports: (category, channel, subject) taken in turn.
HISTORY_DAYS = 30
HISTORY_KINDS = (
    ("billing", Channel.PHONE, "Charged twice for the monthly plan"),
    ("technical", Channel.PHONE, "No internet since the storm"),
    ("account", Channel.PORTAL, "Cannot sign in to the customer portal"),
    ("technical", Channel.IVR, "Internet slow in the evenings"),
    ("delivery", Channel.EMAIL, "The new router has not arrived"),
    ("billing", Channel.PORTAL, "The invoice shows the old address"),
    ("other", Channel.API, "Question about the winter upgrade offer"),
)
# (title, answer, category, language, visibility, other ways people ask, IVR sound file)
DEMO_ARTICLES = (
    (
        "Cách xuất hóa đơn điện tử",
        "Vào ứng dụng Hotline > Hóa đơn, chọn tháng cần xuất rồi bấm Xuất hóa đơn. Nhập mã số thuế nếu "
        "cần hóa đơn công ty; hóa đơn được gửi qua email trong 15 phút.",
        "billing",
        "vi",
        Visibility.PUBLIC,
        ("xuất VAT", "lấy hóa đơn đỏ"),
        "hotline/faq-invoice",
    ),
    (
        "Bị trừ tiền hai lần cho một hóa đơn",
        "Nếu một hóa đơn bị thanh toán hai lần, khoản thừa được hoàn tự động về phương thức thanh toán "
        "trong 5 ngày làm việc. Sau thời gian đó, hãy gửi yêu cầu kèm mã giao dịch.",
        "billing",
        "vi",
        Visibility.PUBLIC,
        ("thanh toán trùng", "hoàn tiền"),
        None,
    ),
    (
        "I was charged twice for one invoice",
        "A double payment is refunded automatically to the card or wallet you paid with within 5 business "
        "days. If it has not arrived by then, send us a request with both transaction numbers.",
        "billing",
        "en",
        Visibility.PUBLIC,
        ("double charge", "refund"),
        None,
    ),
    (
        "Thanh toán cước qua ví MoMo",
        "Mở ví MoMo, chọn Thanh toán hóa đơn > Internet, nhập mã khách hàng (in trên hóa đơn) và xác nhận.",
        "billing",
        "vi",
        Visibility.PUBLIC,
        ("trả tiền mạng bằng MoMo",),
        "hotline/faq-momo",
    ),
    (
        "Internet chậm hoặc mất kết nối vào buổi tối",
        "Khởi động lại modem (tắt 30 giây rồi bật lại), kiểm tra đèn LOS: đèn đỏ là đứt cáp, hãy gọi kỹ "
        "thuật. Nếu vẫn chậm, đo tốc độ bằng dây mạng và gửi kết quả cho chúng tôi.",
        "technical",
        "vi",
        Visibility.PUBLIC,
        ("mạng chậm", "wifi yếu", "rớt mạng"),
        "hotline/faq-slow-internet",
    ),
    (
        "My internet is slow in the evening",
        "Restart the modem (off for 30 seconds), then test the speed with a cable. A red LOS light means "
        "the fibre is cut: call us and we send a technician.",
        "technical",
        "en",
        Visibility.PUBLIC,
        ("slow wifi", "connection drops"),
        None,
    ),
    (
        "Đổi mật khẩu tài khoản",
        "Vào Cài đặt > Bảo mật > Đổi mật khẩu. Quên mật khẩu: bấm Quên mật khẩu ở màn hình đăng nhập, mã "
        "OTP được gửi tới số điện thoại đã đăng ký.",
        "account",
        "vi",
        Visibility.PUBLIC,
        ("quên mật khẩu", "lấy lại mật khẩu"),
        None,
    ),
    (
        "How to reset your password",
        "Tap Forgot password on the sign-in screen; we text a one-time code to your registered phone. "
        "Signed in already? Settings > Security > Change password.",
        "account",
        "en",
        Visibility.PUBLIC,
        ("forgot password", "cannot sign in"),
        None,
    ),
    (
        "Thay đổi địa chỉ giao hàng",
        "Địa chỉ giao modem hoặc thiết bị đổi được tới khi đơn chuyển sang Đang giao: vào Đơn hàng > Sửa "
        "địa chỉ, hoặc gọi tổng đài.",
        "delivery",
        "vi",
        Visibility.PUBLIC,
        ("đổi địa chỉ nhận hàng",),
        None,
    ),
    (
        "Track my delivery",
        "Use the tracking number in your order confirmation email on the courier's website; deliveries "
        "arrive within 3 business days in cities.",
        "delivery",
        "en",
        Visibility.PUBLIC,
        ("where is my order", "parcel tracking"),
        None,
    ),
    (
        "Giờ làm việc của tổng đài",
        "Tổng đài hỗ trợ từ 8:00 đến 17:30 thứ Hai đến thứ Sáu và 8:00 đến 12:00 thứ Bảy. Báo sự cố mất "
        "mạng 24/7 qua tổng đài tự động.",
        "other",
        "vi",
        Visibility.PUBLIC,
        ("giờ mở cửa", "opening hours"),
        "hotline/faq-hours",
    ),
    (
        "Hoàn tiền cho khách VIP: quy trình nội bộ",
        "Khách VIP bị trừ tiền trùng: hoàn ngay trên hệ thống thanh toán (không chờ 5 ngày), ghi chú mã "
        "giao dịch vào ticket và báo trưởng ca. Trên 2 triệu đồng cần trưởng ca duyệt.",
        "billing",
        "vi",
        Visibility.INTERNAL,
        ("refund VIP", "hoàn tiền nhanh"),
        None,
    ),
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
    store = CustomerStore(pool, default_country=settings.customers.default_country)
    customers = CustomerService(store)
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
            await store.add_interaction(customer.id, when, "call", summary, None)
    ids = {c.name: c.id for c in created}
    await _seed_tickets(pool, settings, customers, ids)
    await _seed_alarms(pool, settings, customers, ids)
    await _seed_history(pool, settings, customers, list(ids.values()), now)
    await _seed_campaign(pool, settings)
    await _seed_callback(pool, ids, now)
    await _seed_articles(pool)
    return True


async def _seed_articles(pool: asyncpg.Pool) -> None:
    """A dozen published FAQ answers in Vietnamese and English (one internal), reviewed by carol."""
    carol = next(a for a in await AccountStore(pool).list_agents() if a.username == "carol")
    reviewer = Editor(carol.id, reviewer=True)
    knowledge_base = KnowledgeBase(ArticleStore(pool), _Collected(), clock=lambda: datetime.now(UTC))
    for title, body, category, language, visibility, synonyms, sound_file in DEMO_ARTICLES:
        draft = ArticleDraft.create(
            title=title,
            body=body,
            category=category,
            language=language,
            visibility=visibility,
            synonyms=synonyms,
            sound_file=sound_file,
        )
        article = await knowledge_base.create(draft, reviewer)
        await knowledge_base.publish(article.id, reviewer)


# A ticket opened this long ago is overdue (3 days) and has climbed the ladder by start-up.
OVERDUE_AGE = timedelta(days=4)


async def _seed_alarms(
    pool: asyncpg.Pool,
    settings: Settings,
    customers: CustomerService,
    ids: dict[str, int],
) -> None:
    """An overdue ticket with its escalation history, and Jane Doe watched by Alice.

    The ticket is opened four days back and the real sweep is replayed hour by hour up to now, so
    the alarm page shows warnings, breaches and each rank told as the policy (and its business
    hours) would have done it. Jane's repeated calls (the simulator plays her number) alert Alice.
    """
    opened_at = datetime.now(UTC) - OVERDUE_AGE
    clock = _SteppedClock(opened_at)
    events = _Collected()
    tickets = wire_tickets(settings, pool, customers, events, clock).service
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
    for event in events.events:
        await customers.record(event)
    escalations = EscalationStore(pool)
    accounts = AccountService(AccountStore(pool), token_ttl_s=settings.web.token_ttl_s)
    sweeper = EscalationSweeper(
        escalations, settings.alarms.policy, settings.alarms.plan, clock, events, agents=accounts
    )
    while clock.now < datetime.now(UTC):
        await sweeper.run_once()
        clock.now += timedelta(hours=1)
    alarms = AlarmService(
        escalations,
        settings.alarms.policy,
        settings.alarms.plan,
        CallLogStore(pool),
        lambda: datetime.now(UTC),
        events,
        agents=accounts,
        customers=customers,
    )
    await alarms.watch(
        ids["Jane Doe"],
        agents["alice"].id,
        "alice@hotline.invalid",
        "Key account: tell Alice at once",
        agents["carol"].id,
    )


@dataclass
class _SteppedClock:
    """The seeding's clock, moved forward by hand to replay the past (the sweep, a month of tickets)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


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


async def _seed_history(
    pool: asyncpg.Pool, settings: Settings, customers: CustomerService, customer_ids: list[int], now: datetime
) -> None:
    """A month of tickets taken in, answered, resolved and confirmed (some reopened first), for the reports.

    No notice channel: these customers were told long ago, and the demo should not mail them now.
    """
    clock = _SteppedClock(now - timedelta(days=HISTORY_DAYS))
    service = TicketService(
        TicketStore(pool),
        settings.sla,
        customers,
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
            category, channel, subject = HISTORY_KINDS[count % len(HISTORY_KINDS)]
            clock.now = now - timedelta(days=day) + timedelta(hours=slot * 2, minutes=(count * 17) % 60)
            ticket = await service.open(
                NewTicket.create(
                    subject=subject,
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
    pool: asyncpg.Pool,
    settings: Settings,
    customers: CustomerService,
    ids: dict[str, int],
) -> None:
    """Handler profiles for the demo agents and a few open tickets, so the work lists are not empty."""
    events = _Collected()
    tickets = wire_tickets(settings, pool, customers, events, lambda: datetime.now(UTC)).service
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
    for event in events.events:
        await customers.record(event)


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
            # Half the callers walk the IVR first, so its path shows on the pops and timelines.
            ivr_share=0.5 if settings.ivr.enabled and settings.ivr.fastagi.port else 0.0,
            ivr_host=settings.ivr.fastagi.host,
            ivr_port=settings.ivr.fastagi.port,
        )
    )
    await simulator.start()
    traffic = asyncio.get_running_loop().create_task(simulator.run_traffic())
    try:
        ami = AmiSettings(host="127.0.0.1", port=simulator.port, username="hotline", secret=secret)

        async def prepare(pool: asyncpg.Pool) -> None:
            with _details_at_debug():
                seeded = await seed(pool, settings)
            if seeded:
                log.info(
                    "demo data seeded: %d agents, %d customers, tickets, a month of calls, "
                    "a campaign, a promised callback and %d answers in the knowledge base",
                    len(DEMO_AGENTS),
                    len(DEMO_CUSTOMERS),
                    len(DEMO_ARTICLES),
                )
            else:
                log.info("demo data already present in var/; delete var/ to start again from scratch")

        await app.serve(settings, ami, _announce_demo, prepare=prepare)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
        await simulator.close()


class _InfoAsDebug(logging.Filter):
    """Shows INFO records as DEBUG, and drops them unless DEBUG is logged (`threshold`)."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self._threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self._threshold


@contextlib.contextmanager
def _details_at_debug() -> Iterator[None]:
    """While the demo seeds, the features' INFO lines (a ticket opened, an alert raised) are details."""
    root = logging.getLogger()
    filters = [(handler, _InfoAsDebug(max(handler.level, root.level))) for handler in root.handlers]
    for handler, info_as_debug in filters:
        handler.addFilter(info_as_debug)
    try:
        yield
    finally:
        for handler, info_as_debug in filters:
            handler.removeFilter(info_as_debug)


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
        f"  Supervisors (carol): alarms {url}supervisor, reports {url}reports, wallboard {url}wallboard",
        f"  Knowledge base (write and publish answers): {url}kb",
        f"  Customer self-service portal (no sign-in): {url}portal",
        "  Press Ctrl-C to stop; data stays in var/.",
        "",
    ]
    print("\n".join(lines), flush=True)
