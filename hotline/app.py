"""The composition root: builds every object, hands each its collaborators, runs and stops them.

Start order: database (embedded or given), migrations, stores and services, the web
application, then the AMI client, the notice outbox and the scheduler of the periodic jobs (the
escalation sweep, greetings, due callbacks) with the alert outbox. Stop order is the reverse: stop accepting HTTP, close
the agent sockets (GOING_AWAY), stop the scheduler and the outboxes, the AMI client and the pop
work in flight, let the bus's subscribers finish, close the pool, stop the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiohttp import web
from argon2 import PasswordHasher

from agents import AccountService, Agent
from agents.store import AccountStore
from cti.agent_service import AgentStateService
from cti.ami_client import AmiClient, AmiSettings, OfflinePbx
from cti.call_history import CallHistory
from cti.callback_service import CallbackService
from cti.callback_store import CallbackStore
from cti.click_to_dial import ClickToDial
from cti.dialer import Dialer
from cti.dialer_store import DialerStore
from cti.events import (
    CALL_EVENT_TYPES,
    CallLogged,
)
from cti.pipeline import CallPipeline, run_ami
from cti.screen_pop import ScreenPopService
from cti.store import AgentStateStore, CallLogStore, IvrVisitStore
from customers.phone import normalise_phone
from customers.service import CustomerService
from customers.store import CustomerStore
from hotline.bus import EventBus
from hotline.db import create_pool, migrate
from hotline.embedded_pg import EmbeddedPostgres
from hotline.jobs import PeriodicJobs
from hotline.redis_bus import RedisRelay
from hotline.settings import Settings
from ivr.fastagi import FastAgiServer
from ivr.flows import ArticleFinder, IvrFlows, IvrVisitEnded
from knowledge_base.events import ArticleChanged
from knowledge_base.service import KnowledgeBase
from knowledge_base.store import ArticleStore
from tickets.alarms import (
    AlarmService,
    AlertChannel,
    AlertDispatcher,
    DeliveryPlan,
    EmailAlertChannel,
    EscalationSweeper,
)
from tickets.escalation_store import EscalationStore
from tickets.events import (
    TICKET_EVENT_TYPES,
    AlertAcknowledged,
    AlertDeliveryAttempted,
    AlertSnoozed,
    EventSink,
    NoticeAttempted,
    TicketOpened,
)
from tickets.greetings import GreetingService
from tickets.notify import LoggedEmailChannel, NoticeChannel, NoticeDispatcher
from tickets.report_store import ReportStore
from tickets.service import TicketService
from tickets.smtp import SmtpChannel
from tickets.store import TicketStore
from tickets.webhook import WebhookAlertChannel
from web_agent.alerts_api import AlarmWebServices, add_alarm_routes
from web_agent.app import AccessLogger, WebServices, create_app
from web_agent.board import BoardPublisher
from web_agent.board import setup as setup_board
from web_agent.campaigns import CampaignServices, add_campaign_routes
from web_agent.feeds import AlertFeed, CallbackFeed, OutboundFeed, PopFeed, TicketFeed
from web_agent.hub import AgentHub
from web_agent.kb_api import add_kb_routes
from web_agent.portal import add_portal_routes
from web_agent.proactive_api import ProactiveServices, add_proactive_routes

log = logging.getLogger(__name__)


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


def build_tickets(
    settings: Settings,
    pool: asyncpg.Pool,
    customers: CustomerService,
    events: EventSink,
    clock: Callable[[], datetime],
) -> tuple[TicketService, NoticeDispatcher]:
    """The ticket service and the dispatcher that delivers its notices (SMTP if configured, else the log)."""
    store = TicketStore(pool)
    channels: list[NoticeChannel] = [SmtpChannel(settings.smtp) if settings.smtp else LoggedEmailChannel()]
    dispatcher = NoticeDispatcher(store, {c.name: c for c in channels}, clock, events)
    service = TicketService(
        store,
        settings.sla,
        customers,
        events,
        channels=channels,
        settings=settings.tickets,
        clock=clock,
        notice_queued=dispatcher.wake,
    )
    return service, dispatcher


@dataclass
class AlarmWork:
    """The escalation sweep and the alert outbox of this node (tests drive them by hand)."""

    sweeper: EscalationSweeper
    dispatcher: AlertDispatcher
    alarms: AlarmService


ALARM_WORK = web.AppKey("alarm_work", AlarmWork)
# Tests put pops on the desktops through the pop service, as the PBX's calls do.
SCREEN_POPS = web.AppKey("screen_pops", ScreenPopService)
ESCALATION_SWEEP_JOB = "escalation sweep"
# Greetings go out from a set hour; looking hourly sends each on the hour it becomes due.
GREETINGS_EVERY_S = 3600.0


def delivery_plan(settings: Settings) -> DeliveryPlan:
    """Every alert on the live feed; email (SMTP or the log) for the ranks; the webhook if configured."""
    webhook = settings.alarms.webhook
    return DeliveryPlan(email=True, webhook_url=webhook.url if webhook else None)


def build_alarms(
    settings: Settings,
    pool: asyncpg.Pool,
    live: AlertFeed,
    calls: CallHistory,
    accounts: AccountService,
    customers: CustomerService,
    events: EventSink,
    clock: Callable[[], datetime],
) -> AlarmWork:
    """The sweep, the outbox (live feed, email: SMTP or the log, webhook if configured) and the alarm service."""
    store = EscalationStore(pool)
    policy = settings.alarms.policy
    webhook = settings.alarms.webhook
    plan = delivery_plan(settings)
    email = SmtpChannel(settings.smtp) if settings.smtp else LoggedEmailChannel()
    channels: list[AlertChannel] = [live, EmailAlertChannel(email)]
    if webhook is not None:
        channels.append(WebhookAlertChannel(webhook))
    dispatcher = AlertDispatcher(store, {c.name: c for c in channels}, clock, events)
    sweeper = EscalationSweeper(store, policy, plan, clock, events, agents=accounts, raised=dispatcher.wake)
    alarms = AlarmService(
        store,
        policy,
        plan,
        calls,
        clock,
        events,
        agents=accounts,
        customers=customers,
        raised=dispatcher.wake,
    )
    return AlarmWork(sweeper, dispatcher, alarms)


IVR_SERVER = web.AppKey("ivr_server", FastAgiServer)


def build_ivr(
    settings: Settings,
    customers: CustomerService,
    tickets: TicketService,
    accounts: AccountService,
    calls: CallHistory,
    articles: ArticleFinder,
    callbacks: CallbackService,
    events: EventSink,
    clock: Callable[[], datetime],
) -> FastAgiServer:
    """The FastAGI server running the IVR menus, its ports satisfied by the other packages."""
    flows = IvrFlows(
        settings.ivr.menu,
        customers=customers,
        tickets=tickets,
        agents=accounts,
        callbacks=callbacks,
        journal=calls,
        articles=articles,
        events=events,
        clock=clock,
    )
    return FastAgiServer(settings.ivr.fastagi, {settings.ivr.script: flows.handle})


def build_web_app(
    settings: Settings,
    pool: asyncpg.Pool,
    ami: AmiSettings | None,
    *,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    notice_poll_s: float = 30.0,
    run_jobs: bool = False,
) -> web.Application:
    """Wire stores, services, the hub and the AMI pipeline into one aiohttp application.

    `hasher` replaces argon2's default cost (tests use a cheap one); `clock` is the time every
    ticket rule sees; `run_jobs` adds the greetings and callback jobs to the escalation sweep (`serve` does; tests
    call those jobs themselves).
    """
    bus = EventBus()
    hub: AgentHub[Agent] = AgentHub(
        send_queue=settings.web.ws_send_queue,
        resume_buffer=settings.web.ws_resume_buffer,
        resume_grace_s=settings.web.ws_resume_grace_s,
    )
    # First, so the open pops lead every snapshot.
    pop_feed = PopFeed(hub)
    board = BoardPublisher(hub)
    state_store = AgentStateStore(pool)
    agent_states = AgentStateService(settings.agent_states, board, state_store)
    board.bind(agent_states)
    accounts = AccountService(AccountStore(pool), token_ttl_s=settings.web.token_ttl_s, hasher=hasher)
    customers = CustomerService(CustomerStore(pool, default_country=settings.customers.default_country))
    ivr_visits = IvrVisitStore(pool)
    call_history = CallHistory(CallLogStore(pool), ivr_visits, accounts, bus)
    tickets, dispatcher = build_tickets(settings, pool, customers, bus, clock)
    for ticket_kind in TICKET_EVENT_TYPES:
        bus.subscribe(ticket_kind, customers.record)
    bus.subscribe(NoticeAttempted, customers.record)
    bus.subscribe(CallLogged, customers.record)
    bus.subscribe(IvrVisitEnded, customers.record)
    knowledge_base = KnowledgeBase(ArticleStore(pool), bus, clock=clock)
    bus.subscribe(ArticleChanged, knowledge_base.on_article_changed)
    relay = (
        RedisRelay(settings.redis_url, bus, (ArticleChanged,), on_connected=knowledge_base.load)
        if settings.redis_url
        else None
    )
    alert_feed = AlertFeed(hub)
    alarm_work = build_alarms(settings, pool, alert_feed, call_history, accounts, customers, bus, clock)
    bus.subscribe(CallLogged, alarm_work.alarms.call_logged)
    pops = ScreenPopService(
        customers,
        pop_feed,
        call_history,
        topics=tickets,
        answers=knowledge_base,
        ivr_visits=call_history,
    )
    pop_feed.bind(pops)
    ticket_feed = TicketFeed(hub, accounts, tickets)
    for ticket_kind in TICKET_EVENT_TYPES:
        bus.subscribe(ticket_kind, ticket_feed.ticket_changed)
    bus.subscribe(NoticeAttempted, ticket_feed.notice_attempted)
    # The scheduler of this node's periodic jobs; due work itself lives in PostgreSQL.
    jobs = PeriodicJobs()
    jobs.add(ESCALATION_SWEEP_JOB, alarm_work.sweeper.run_once, settings.alarms.sweep_interval_s)

    bus.subscribe(AlertAcknowledged, alert_feed.alert_changed)
    bus.subscribe(AlertSnoozed, alert_feed.alert_changed)
    bus.subscribe(AlertDeliveryAttempted, alert_feed.alert_changed)
    # A new ticket is looked at by the next sweep: run it now, so a watched customer's owner hears at once.
    bus.subscribe(TicketOpened, lambda _: jobs.run_soon(ESCALATION_SWEEP_JOB))
    pipeline = CallPipeline(pops, bus, agent_states=agent_states)
    dialer_store = DialerStore(pool)
    client: AmiClient | None = None
    if ami is not None:
        client = AmiClient(ami, on_event=pipeline.on_ami_event, on_connected=pipeline.resync)
        pipeline.attach(client)
        agent_states.attach(client)
    dialer = Dialer(
        dialer_store,
        client if client is not None else OfflinePbx(),
        customers,
        tickets,
        OutboundFeed(hub),
        settings=settings.dialer,
        available=agent_states.takes_calls,
    )
    pipeline.add_listener(dialer.on_ami_event)
    for kind in CALL_EVENT_TYPES:
        bus.subscribe(kind, dialer.on_call_event)
    greetings, callbacks, click_to_dial = build_proactive(
        settings, pool, customers, tickets, dispatcher, accounts, hub, agent_states, client, clock
    )
    if run_jobs:
        jobs.add("special-day greetings", greetings.run_once, GREETINGS_EVERY_S)
        jobs.add("due callbacks", callbacks.run_once, settings.callbacks.poll_s)

    async def database_ok() -> bool:
        return bool(await pool.fetchval("SELECT true"))

    app = create_app(
        WebServices(
            settings=settings.web,
            accounts=accounts,
            customers=customers,
            call_log=call_history,
            tickets=tickets,
            hub=hub,
            ami_connected=lambda: client is not None and client.connected,
            database_ok=database_ok,
        )
    )

    setup_board(app, agent_states, board, state_store)
    add_kb_routes(app, knowledge_base)
    add_portal_routes(app, knowledge_base)
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

    add_proactive_routes(
        app,
        ProactiveServices(
            callbacks=callbacks,
            click_to_dial=click_to_dial,
            reports=ReportStore(pool),
            customers=customers,
            display_names=accounts.display_names,
            timezone=settings.reports_timezone,
        ),
    )

    async def ami_and_pops(app: web.Application) -> AsyncIterator[None]:
        states_task = asyncio.get_running_loop().create_task(agent_states.run())
        task = asyncio.get_running_loop().create_task(run_ami(client)) if client is not None else None
        dialing = asyncio.get_running_loop().create_task(dialer.run(), name="dialer")
        yield
        states_task.cancel()
        await asyncio.gather(states_task, return_exceptions=True)
        await agent_states.close()
        dialing.cancel()
        await asyncio.gather(dialing, return_exceptions=True)
        await dialer.close()
        if client is not None and task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
        await pops.close()

    async def notices(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(dispatcher.run(poll_s=notice_poll_s))
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def knowledge(app: web.Application) -> AsyncIterator[None]:
        await knowledge_base.load()
        relaying = asyncio.get_running_loop().create_task(relay.run(), name="redis-relay") if relay else None
        yield
        if relaying is not None:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)
        await knowledge_base.close()

    async def events(app: web.Application) -> AsyncIterator[None]:
        yield
        # Last to stop: what the others published on their way out is still followed up.
        await bus.close()

    app.cleanup_ctx.append(events)
    # Before the AMI starts: the first pop may already want suggestions from a loaded index.
    app.cleanup_ctx.append(knowledge)
    add_alarm_routes(app, AlarmWebServices(alarm_work.alarms, clock))
    app[ALARM_WORK] = alarm_work
    app[SCREEN_POPS] = pops

    async def alarms_running(app: web.Application) -> AsyncIterator[None]:
        jobs.start()
        delivering = asyncio.get_running_loop().create_task(alarm_work.dispatcher.run(poll_s=notice_poll_s))
        yield
        jobs.stop()
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)

    app.cleanup_ctx.append(ami_and_pops)
    app.cleanup_ctx.append(notices)
    app.cleanup_ctx.append(alarms_running)
    if settings.ivr.enabled:
        ivr_server = build_ivr(
            settings, customers, tickets, accounts, call_history, knowledge_base, callbacks, bus, clock
        )
        app[IVR_SERVER] = ivr_server

        async def ivr(app: web.Application) -> AsyncIterator[None]:
            fastagi = settings.ivr.fastagi
            try:
                await ivr_server.start()
            except OSError as exc:
                # Like a refused AMI login: the desk keeps working, the cause is said once.
                log.error(
                    "cannot listen for FastAGI on %s:%d (%s). Set HOTLINE_IVR_PORT to a free port, or "
                    "HOTLINE_IVR_ENABLED=false; Hotline keeps serving without the IVR.",
                    fastagi.host,
                    fastagi.port,
                    exc.strerror or exc,
                )
            yield
            await ivr_server.close()

        app.cleanup_ctx.append(ivr)
    return app


def build_proactive(
    settings: Settings,
    pool: asyncpg.Pool,
    customers: CustomerService,
    tickets: TicketService,
    dispatcher: NoticeDispatcher,
    accounts: AccountService,
    hub: AgentHub[Agent],
    agent_states: AgentStateService,
    client: AmiClient | None,
    clock: Callable[[], datetime],
) -> tuple[GreetingService, CallbackService, ClickToDial]:
    """The special-day greetings, the promised callbacks and click-to-dial, wired to their ports."""
    channels: list[NoticeChannel] = [SmtpChannel(settings.smtp) if settings.smtp else LoggedEmailChannel()]
    greetings = GreetingService(
        customers,
        TicketStore(pool),
        {c.name: c for c in channels},
        settings.greetings,
        clock,
        notice_queued=dispatcher.wake,
    )
    click_to_dial = ClickToDial(client if client is not None else OfflinePbx(), settings.click_to_dial)
    callbacks = CallbackService(
        CallbackStore(pool),
        accounts,
        tickets,
        CallbackFeed(hub),
        customers,
        click_to_dial,
        agent_states.takes_calls,
        clock,
        settings.callbacks,
    )
    return greetings, callbacks, click_to_dial


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
        app = build_web_app(settings, pool, ami, run_jobs=True)
        runner = web.AppRunner(app, access_log_class=AccessLogger, shutdown_timeout=5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.web.host, settings.web.port)
            await site.start()
            ready(f"http://{settings.web.host}:{settings.web.port}/")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
