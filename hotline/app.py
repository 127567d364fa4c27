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

from cti.agent_service import AgentStateService
from cti.ami_client import AmiClient, AmiSettings
from cti.ami_protocol import AmiMessage
from cti.calls import CallTracker
from cti.errors import AmiAuthenticationError, CtiError
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
from cti.store import AgentStateStore, CallCustomer, CallLogStore
from customers.store import CustomerStore
from hotline.bus import EventBus
from hotline.db import create_pool, migrate
from hotline.embedded_pg import EmbeddedPostgres
from hotline.settings import Settings
from web_agent.accounts import AccountService
from web_agent.app import AccessLogger, WebServices, create_app
from web_agent.board import BoardPublisher
from web_agent.board import setup as setup_board
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


class CallPipeline:
    """AMI events -> call tracker -> bus; and the resync after every (re)connect."""

    def __init__(
        self,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        agent_states: AgentStateService | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._tracker = CallTracker()
        self._agent_states = agent_states

    def on_ami_event(self, message: AmiMessage) -> None:
        """Feed one AMI event to the tracker and publish what it derives."""
        for event in self._tracker.feed(message, self._clock()):
            self._bus.publish(event)
        if self._agent_states is not None:
            self._agent_states.on_ami_event(message)

    async def resync(self, client: AmiClient) -> None:
        """After a (re)connect, ask the PBX what is really going on and reconcile."""
        channels = await client.list_action("CoreShowChannels")
        queues = await client.list_action("QueueStatus")
        events = self._tracker.resync(channels.items, queues.items, self._clock())
        if self._agent_states is not None:
            self._agent_states.resync(queues.items)
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
    hub = AgentHub(
        send_queue=settings.web.ws_send_queue,
        resume_buffer=settings.web.ws_resume_buffer,
        resume_grace_s=settings.web.ws_resume_grace_s,
    )
    board = BoardPublisher(hub)
    state_store = AgentStateStore(pool)
    agent_states = AgentStateService(settings.agent_states, board, state_store)
    board.bind(agent_states)
    accounts_store = AccountStore(pool)
    accounts = AccountService(accounts_store, token_ttl_s=settings.web.token_ttl_s, hasher=hasher)
    customers = CustomerStore(pool, default_country=settings.customers.default_country)
    call_log = CallLogStore(pool)
    pops = ScreenPopService(customers, hub, CallHistoryRecorder(call_log, customers, accounts_store))
    for kind in CALL_EVENT_TYPES:
        bus.subscribe(kind, pops.handle)
    pipeline = CallPipeline(bus, agent_states=agent_states)
    client: AmiClient | None = None
    if ami is not None:
        ami_client = AmiClient(
            ami, on_event=pipeline.on_ami_event, on_connected=lambda: pipeline.resync(ami_client)
        )
        client = ami_client
        agent_states.attach(ami_client)

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

    setup_board(app, agent_states, board, state_store)

    async def ami_and_pops(app: web.Application) -> AsyncIterator[None]:
        states_task = asyncio.get_running_loop().create_task(agent_states.run())
        task = asyncio.get_running_loop().create_task(run_ami(client)) if client is not None else None
        yield
        states_task.cancel()
        await asyncio.gather(states_task, return_exceptions=True)
        await agent_states.close()
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
