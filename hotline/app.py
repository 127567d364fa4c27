"""The composition root: builds every object, hands each its collaborators, runs and stops them.

Start order: database (embedded or given), migrations, stores and services, the web
application, then the AMI client. Stop order is the reverse: stop accepting HTTP, close the
agent sockets (GOING_AWAY), stop the AMI client and the pop work in flight, close the pool,
stop the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiohttp import web
from argon2 import PasswordHasher

from cti.ami_client import ActionFields, AmiClient, AmiSettings
from cti.ami_protocol import AmiMessage
from cti.calls import CallTracker
from cti.dialer import Dialer
from cti.dialer_store import DialerStore
from cti.errors import AmiAuthenticationError, AmiNotConnectedError, CtiError
from cti.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
    CallOutcome,
    OfferRetracted,
    QueueCallerAbandoned,
)
from cti.screen_pop import CallerCardLike, ScreenPopService
from cti.store import CallCustomer, CallLogStore
from customers.phone import normalise_phone
from customers.store import CustomerStore
from hotline.bus import EventBus
from hotline.db import create_pool, migrate
from hotline.embedded_pg import EmbeddedPostgres
from hotline.settings import Settings
from web_agent.accounts import AccountService
from web_agent.app import AccessLogger, WebServices, create_app
from web_agent.campaigns import CampaignServices, HubOutboundSink, add_campaign_routes
from web_agent.hub import AgentHub
from web_agent.store import AccountStore

log = logging.getLogger(__name__)

CALL_EVENT_TYPES: tuple[type[CallEvent], ...] = (
    CallOffered,
    OfferRetracted,
    CallAnswered,
    QueueCallerAbandoned,
    CallEnded,
)


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The migrated pool: from HOTLINE_DATABASE_URL, or an embedded PostgreSQL under data_dir."""
    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = await embedded.start()
    try:
        pool = await create_pool(url)
        try:
            async with pool.acquire() as conn:
                applied = await migrate(conn)
            log.info("database ready (%d migrations applied now)", len(applied))
            yield pool
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.stop()


def _format_duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


@dataclass
class CallHistoryRecorder:
    """Satisfies cti's CallRecorder port: a call-log row, plus an entry on the customer's timeline."""

    call_log: CallLogStore
    customers: CustomerStore
    accounts: AccountStore

    async def record_call(self, ended: CallEnded, card: CallerCardLike | None) -> None:
        """Store the finished call where the agent desktop and the next pop will find it."""
        customer = None
        if card is not None:
            tier = card.customer.tier
            customer = CallCustomer(card.customer.id, card.customer.name, str(getattr(tier, "value", tier)))
        await self.call_log.record(ended, customer)
        if customer is None:
            return
        queue = f" ({ended.queue})" if ended.queue else ""
        if ended.outcome is CallOutcome.ANSWERED:
            who = await self.accounts.display_name_for_interface(ended.interface) if ended.interface else None
            summary = (
                f"Call answered by {who or ended.interface}{queue}, talked {_format_duration(ended.talk_s)}"
            )
        else:
            summary = (
                f"Missed call{queue}: {ended.outcome.value} after {_format_duration(ended.wait_s)} waiting"
            )
        await self.customers.add_interaction(
            customer.id, datetime.fromtimestamp(ended.ended_at, UTC), "call", summary, ended.call_id
        )


class NoEscalationsYet:
    """Satisfies cti's EscalatedCustomers port until the tickets feature lands: nobody is escalated."""

    async def has_open_escalation(self, customer_id: int) -> bool:
        """Always False: without tickets there is no escalated ticket to respect."""
        return False


class OfflinePbx:
    """Satisfies the dialer's AmiActions port when Hotline runs without a PBX: nothing is dialled."""

    connected = False

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Refuse every action: there is no AMI connection."""
        raise AmiNotConnectedError(f"cannot send AMI action {name}: no PBX is configured")


class CallPipeline:
    """AMI events -> call tracker -> bus; and the resync after every (re)connect."""

    def __init__(self, bus: EventBus, clock: Callable[[], float] = time.time) -> None:
        self._bus = bus
        self._clock = clock
        self._tracker = CallTracker()

    def on_ami_event(self, message: AmiMessage) -> None:
        """Feed one AMI event to the tracker and publish what it derives."""
        for event in self._tracker.feed(message, self._clock()):
            self._bus.publish(event)

    async def resync(self, client: AmiClient) -> None:
        """After a (re)connect, ask the PBX what is really going on and reconcile."""
        channels = await client.list_action("CoreShowChannels")
        queues = await client.list_action("QueueStatus")
        events = self._tracker.resync(channels.items, queues.items, self._clock())
        log.info(
            "resynced with the PBX: %d channels, %d queue items, %d call updates",
            len(channels.items),
            len(queues.items),
            len(events),
        )
        for event in events:
            self._bus.publish(event)


async def run_ami(client: AmiClient) -> None:
    """Run the AMI client; a refused login is reported once and leaves the web side running."""
    try:
        await client.run()
    except AmiAuthenticationError as exc:
        log.error(
            "%s. Check the manager.conf user and HOTLINE_AMI_URL; "
            "Hotline keeps serving but will not see calls until restarted with the right secret.",
            exc,
        )
    except CtiError:
        log.exception("the AMI client stopped")


def build_web_app(
    settings: Settings, pool: asyncpg.Pool, ami: AmiSettings | None, *, hasher: PasswordHasher | None = None
) -> web.Application:
    """Wire stores, services, the hub and the AMI pipeline into one aiohttp application.

    `hasher` replaces argon2's default cost (tests use a cheap one).
    """
    bus = EventBus()
    hub = AgentHub(send_queue=settings.web.ws_send_queue)
    accounts_store = AccountStore(pool)
    accounts = AccountService(accounts_store, token_ttl_s=settings.web.token_ttl_s, hasher=hasher)
    customers = CustomerStore(pool, default_country=settings.customers.default_country)
    call_log = CallLogStore(pool)
    pops = ScreenPopService(customers, hub, CallHistoryRecorder(call_log, customers, accounts_store))
    for kind in CALL_EVENT_TYPES:
        bus.subscribe(kind, pops.handle)
    pipeline = CallPipeline(bus)
    dialer_store = DialerStore(pool)
    dialer_events: list[Callable[[AmiMessage], None]] = []

    def on_ami_event(message: AmiMessage) -> None:
        pipeline.on_ami_event(message)
        for handle in dialer_events:
            handle(message)

    client: AmiClient | None = None
    if ami is not None:
        ami_client = AmiClient(ami, on_event=on_ami_event, on_connected=lambda: pipeline.resync(ami_client))
        client = ami_client
    dialer = Dialer(
        dialer_store,
        client if client is not None else OfflinePbx(),
        customers,
        NoEscalationsYet(),
        HubOutboundSink(hub),
        settings=settings.dialer,
    )
    dialer_events.append(dialer.on_ami_event)
    for kind in CALL_EVENT_TYPES:
        bus.subscribe(kind, dialer.on_call_event)

    async def database_ok() -> bool:
        return bool(await pool.fetchval("SELECT true"))

    app = create_app(
        WebServices(
            settings=settings.web,
            accounts=accounts,
            customers=customers,
            call_log=call_log,
            hub=hub,
            ami_connected=lambda: client is not None and client.connected,
            database_ok=database_ok,
        )
    )

    country = settings.customers.default_country
    add_campaign_routes(
        app,
        CampaignServices(
            dialer=dialer,
            store=dialer_store,
            normalise_phone=lambda raw: normalise_phone(raw, country),
            default_timezone=settings.dialer.default_timezone,
        ),
    )

    async def ami_and_pops(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(run_ami(client)) if client is not None else None
        dialing = asyncio.get_running_loop().create_task(dialer.run(), name="dialer")
        yield
        dialing.cancel()
        await asyncio.gather(dialing, return_exceptions=True)
        await dialer.close()
        if client is not None and task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
        await pops.close()

    app.cleanup_ctx.append(ami_and_pops)
    return app


async def serve(
    settings: Settings,
    ami: AmiSettings | None,
    ready: Callable[[str], None],
    *,
    prepare: Callable[[asyncpg.Pool], Awaitable[None]] | None = None,
) -> None:
    """Run Hotline until cancelled (Ctrl-C), then stop everything in reverse order.

    `prepare` runs once the database is migrated, before the first request (demo seeding).
    """
    async with database(settings) as pool:
        if prepare is not None:
            await prepare(pool)
        app = build_web_app(settings, pool, ami)
        runner = web.AppRunner(app, access_log_class=AccessLogger, shutdown_timeout=5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.web.host, settings.web.port)
            await site.start()
            ready(f"http://{settings.web.host}:{settings.web.port}/")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
