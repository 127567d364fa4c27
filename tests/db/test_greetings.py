"""Special-day greetings on a real PostgreSQL: who is greeted, once per year, by two nodes, over SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from customers.model import NewCustomer
from customers.service import CustomerService
from customers.store import CustomerStore
from tests.conftest import free_port
from tests.db.test_ticket_service import Clock, Inbox, Sink
from tickets.events import NoticeAttempted
from tickets.greetings import GreetingService
from tickets.notify import LoggedEmailChannel, NoticeChannel, NoticeDispatcher
from tickets.smtp import SmtpChannel, SmtpSettings
from tickets.special_days import GreetingSettings
from tickets.store import TicketStore

pytestmark = pytest.mark.db
TIMEOUT_S = 20
# Saturday 28 February 2026, 10:00 in Ho Chi Minh City (2026 has no 29 February).
FEB_28_10AM = datetime(2026, 2, 28, 3, 0, tzinfo=UTC)


async def _customer(
    customers: CustomerStore,
    name: str,
    *,
    email: str | None = "x@example.com",
    birthday: date | None = None,
    anniversary: date | None = None,
    opt_out: bool = False,
    phone: str = "0901000000",
) -> int:
    customer = await customers.create(
        NewCustomer.create(name=name, phones=[phone], email=email, birthday=birthday)
    )
    if anniversary is not None or opt_out:
        await customers.set_special_days(customer.id, anniversary=anniversary, greetings_opt_out=opt_out)
    return customer.id


def _service(pool: asyncpg.Pool, clock: Clock, channel: NoticeChannel | None = None) -> GreetingService:
    channel = channel or LoggedEmailChannel()
    return GreetingService(
        CustomerService(CustomerStore(pool)),
        TicketStore(pool),
        {channel.name: channel},
        GreetingSettings(timezone="Asia/Ho_Chi_Minh", send_from_hour=9, company_name="Acme"),
        clock,
    )


async def _greetings(pool: asyncpg.Pool) -> list[tuple[int, str, int, str]]:
    rows = await pool.fetch(
        "SELECT customer_id, kind, greeting_year, recipient FROM ticket_notices WHERE ticket_id IS NULL"
        " ORDER BY customer_id, kind"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_todays_birthdays_and_anniversaries_are_greeted_once_per_year(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        customers, clock = CustomerStore(pool), Clock(FEB_28_10AM)
        ann = await _customer(
            customers, "Ann", email="ann@example.com", birthday=date(1990, 2, 28), phone="0901000001"
        )
        leap = await _customer(
            customers, "Leap", email="leap@example.com", birthday=date(1992, 2, 29), phone="0901000002"
        )
        both = await _customer(
            customers,
            "Both",
            email="both@example.com",
            birthday=date(1980, 2, 28),
            anniversary=date(2016, 2, 28),
            phone="0901000003",
        )
        await _customer(customers, "Quiet", birthday=date(1990, 2, 28), opt_out=True, phone="0901000004")
        await _customer(customers, "No mail", email=None, birthday=date(1990, 2, 28), phone="0901000005")
        await _customer(customers, "Tomorrow", birthday=date(1990, 3, 1), phone="0901000006")
        await _customer(customers, "New", anniversary=date(2026, 2, 28), phone="0901000007")
        service = _service(pool, clock)

        assert await service.run_once() == 4
        assert await _greetings(pool) == [
            (ann, "birthday_greeting", 2026, "ann@example.com"),
            (leap, "birthday_greeting", 2026, "leap@example.com"),
            (both, "anniversary_greeting", 2026, "both@example.com"),
            (both, "birthday_greeting", 2026, "both@example.com"),
        ]
        # The hourly job runs again the same day, and after a restart: nobody is greeted twice.
        assert await service.run_once() == 0
        clock.now = clock.now.replace(hour=12)
        assert await _service(pool, clock).run_once() == 0
        # A year later, the same people again, and "New" has been a customer for a year.
        clock.now = datetime(2027, 2, 28, 3, 0, tzinfo=UTC)
        assert await service.run_once() == 5
        assert len(await _greetings(pool)) == 9


async def test_nobody_is_greeted_before_the_sending_hour(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await _customer(CustomerStore(pool), "Ann", birthday=date(1990, 2, 28))
        # 08:59 in Ho Chi Minh City.
        clock = Clock(datetime(2026, 2, 28, 1, 59, tzinfo=UTC))
        assert await _service(pool, clock).run_once() == 0
        assert await _greetings(pool) == []


async def test_two_nodes_running_the_job_at_once_greet_each_customer_once(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        customers = CustomerStore(pool)
        for i in range(40):
            await _customer(
                customers, f"Customer {i}", birthday=date(1970 + i, 2, 28), phone=f"09020000{i:02d}"
            )
        clock = Clock(FEB_28_10AM)
        first, second = _service(pool, clock), _service(pool, clock)
        counts = await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
        assert sum(counts) == 40
        assert len(await _greetings(pool)) == 40


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


async def test_a_birthday_greeting_arrives_by_email(pool: asyncpg.Pool, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    async with asyncio.timeout(TIMEOUT_S):
        ann = await _customer(
            CustomerStore(pool), "Ann Trần", email="ann@example.com", birthday=date(1990, 2, 28)
        )
        clock, sink = Clock(FEB_28_10AM), Sink()
        smtp = SmtpChannel(SmtpSettings("127.0.0.1", port, from_address="Acme <care@example.com>"))
        assert await _service(pool, clock, smtp).run_once() == 1
        dispatcher = NoticeDispatcher(TicketStore(pool), {"email": smtp}, clock, sink)

        assert await dispatcher.run_once() == 1

        [message] = handler.messages
        assert message["To"] == "ann@example.com"
        assert message["Subject"] == "Happy birthday, Ann Trần!"
        assert "all of us at Acme wish you a happy birthday" in message.get_content()
        [event] = sink.events
        assert isinstance(event, NoticeAttempted)
        assert (event.ticket_id, event.customer_id, event.kind, event.sent) == (
            None,
            ann,
            "birthday_greeting",
            True,
        )
        status = await pool.fetchval("SELECT status FROM ticket_notices WHERE customer_id = $1", ann)
        assert status == "sent"


async def test_a_sent_greeting_goes_on_the_customers_timeline_once(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        customers = CustomerService(CustomerStore(pool))
        ann = await _customer(CustomerStore(pool), "Ann", birthday=date(1990, 2, 28))
        sent = NoticeAttempted(
            None, 41, "email", True, None, FEB_28_10AM, customer_id=ann, kind="birthday_greeting"
        )
        failed = NoticeAttempted(
            None, 42, "email", False, "refused", FEB_28_10AM, customer_id=ann, kind="birthday_greeting"
        )
        for event in (sent, sent, failed):
            await customers.record(event)
        timeline = await customers.timeline(ann)
        assert [(i.channel, i.summary, i.occurred_at, i.ref) for i in timeline] == [
            ("email", "Birthday greeting sent by email", FEB_28_10AM, "notice:41")
        ]
