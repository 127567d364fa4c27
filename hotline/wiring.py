"""The wiring: one `wire_<feature>()` per feature builds it and subscribes its reactions to the bus.

Each function hands a feature its slice of the settings and the services of the features it
needs; a feature's ports take those services as they are (mypy checks the fit), so nothing here
adapts, decides or words anything. `hotline.app` calls them in order and runs what they built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiohttp import web
from argon2 import PasswordHasher

from agents import AccountService, Agent
from agents.store import AccountStore
from cti.agent_service import AgentStateService
from cti.ami_client import AmiActions, AmiClient, AmiSettings, OfflinePbx
from cti.call_history import CallHistory
from cti.callback_service import CallbackService
from cti.callback_store import CallbackStore
from cti.campaign_service import CampaignService
from cti.click_to_dial import ClickToDial
from cti.dialer import Dialer
from cti.dialer_store import DialerStore
from cti.events import CALL_EVENT_TYPES, CallLogged
from cti.pipeline import CallPipeline
from cti.screen_pop import ScreenPopService
from cti.store import AgentStateStore, CallLogStore, IvrVisitStore
from customers.service import CustomerService
from customers.store import CustomerStore
from hotline.bus import EventBus
from hotline.db import reachable
from hotline.jobs import PeriodicJobs
from hotline.redis_bus import RedisRelay
from hotline.settings import Settings
from ivr.fastagi import FastAgiServer
from ivr.flows import IvrFlows, IvrVisitEnded
from knowledge_base.events import ArticleChanged
from knowledge_base.service import KnowledgeBase
from knowledge_base.store import ArticleStore
from tickets.alarms import AlarmService, AlertChannel, AlertDispatcher, EmailAlertChannel, EscalationSweeper
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
from tickets.reports import TicketReports
from tickets.service import TicketService
from tickets.smtp import SmtpChannel
from tickets.store import TicketStore
from tickets.webhook import WebhookAlertChannel
from web_agent.alerts_api import AlarmWebServices, add_alarm_routes
from web_agent.app import WebServices, create_app
from web_agent.board import BoardPublisher
from web_agent.board import setup as setup_board
from web_agent.campaigns import CampaignServices, add_campaign_routes
from web_agent.feeds import AlertFeed, CallbackFeed, OutboundFeed, PopFeed, TicketFeed
from web_agent.hub import AgentHub
from web_agent.kb_api import add_kb_routes
from web_agent.portal import add_portal_routes
from web_agent.proactive_api import ProactiveServices, add_proactive_routes

ESCALATION_SWEEP_JOB = "escalation sweep"


def wire_agents(settings: Settings, pool: asyncpg.Pool, hasher: PasswordHasher | None) -> AccountService:
    """The accounts people sign in with."""
    return AccountService(AccountStore(pool), token_ttl_s=settings.web.token_ttl_s, hasher=hasher)


def wire_customers(settings: Settings, pool: asyncpg.Pool, bus: EventBus) -> CustomerService:
    """The customers, and their timeline: every event that carries a line for it is recorded."""
    customers = CustomerService(CustomerStore(pool, default_country=settings.customers.default_country))
    for kind in TICKET_EVENT_TYPES:
        bus.subscribe(kind, customers.record)
    bus.subscribe(NoticeAttempted, customers.record)
    bus.subscribe(CallLogged, customers.record)
    bus.subscribe(IvrVisitEnded, customers.record)
    return customers


@dataclass
class Tickets:
    """The service flow, the outbox that delivers its notices, and the special-day greetings."""

    service: TicketService
    notices: NoticeDispatcher
    greetings: GreetingService
    email: NoticeChannel


def wire_tickets(
    settings: Settings,
    pool: asyncpg.Pool,
    customers: CustomerService,
    events: EventSink,
    clock: Callable[[], datetime],
) -> Tickets:
    """Tickets and their notices by email (SMTP if configured, else the log)."""
    store = TicketStore(pool)
    email: NoticeChannel = SmtpChannel(settings.smtp) if settings.smtp else LoggedEmailChannel()
    channels = {email.name: email}
    notices = NoticeDispatcher(store, channels, clock, events)
    service = TicketService(
        store,
        settings.sla,
        customers,
        events,
        channels=list(channels.values()),
        settings=settings.tickets,
        clock=clock,
        notice_queued=notices.wake,
    )
    greetings = GreetingService(
        customers, store, channels, settings.greetings, clock, notice_queued=notices.wake
    )
    return Tickets(service, notices, greetings, email)


@dataclass
class Feeds:
    """The agents' sockets and what turns the features' events into their frames."""

    hub: AgentHub[Agent]
    pops: PopFeed
    board: BoardPublisher
    tickets: TicketFeed
    alerts: AlertFeed
    callbacks: CallbackFeed
    outbound: OutboundFeed


def wire_feeds(settings: Settings, bus: EventBus, agents: AccountService, tickets: TicketService) -> Feeds:
    """The hub and the feeds; the ticket and alert feeds follow the bus."""
    hub: AgentHub[Agent] = AgentHub(
        send_queue=settings.web.ws_send_queue,
        resume_buffer=settings.web.ws_resume_buffer,
        resume_grace_s=settings.web.ws_resume_grace_s,
    )
    # First, so the open pops lead every snapshot.
    pops = PopFeed(hub)
    feeds = Feeds(
        hub,
        pops,
        BoardPublisher(hub),
        TicketFeed(hub, agents, tickets),
        AlertFeed(hub),
        CallbackFeed(hub),
        OutboundFeed(hub),
    )
    for kind in TICKET_EVENT_TYPES:
        bus.subscribe(kind, feeds.tickets.ticket_changed)
    bus.subscribe(NoticeAttempted, feeds.tickets.notice_attempted)
    bus.subscribe(AlertAcknowledged, feeds.alerts.alert_changed)
    bus.subscribe(AlertSnoozed, feeds.alerts.alert_changed)
    bus.subscribe(AlertDeliveryAttempted, feeds.alerts.alert_changed)
    return feeds


@dataclass
class Knowledge:
    """The knowledge base and, with several nodes, the relay that keeps their indexes alike."""

    base: KnowledgeBase
    relay: RedisRelay | None


def wire_knowledge_base(
    settings: Settings, pool: asyncpg.Pool, bus: EventBus, clock: Callable[[], datetime]
) -> Knowledge:
    """The articles and their index; an article changed on any node reaches every node's index."""
    base = KnowledgeBase(ArticleStore(pool), bus, clock=clock)
    bus.subscribe(ArticleChanged, base.on_article_changed)
    relay = None
    if settings.redis_url:
        relay = RedisRelay(settings.redis_url, bus, (ArticleChanged,), on_connected=base.load)
    return Knowledge(base, relay)


@dataclass
class Cti:
    """The PBX side: calls and their history, pops, agent states, the dialer, callbacks, click-to-dial."""

    history: CallHistory
    pops: ScreenPopService
    pipeline: CallPipeline
    client: AmiClient | None
    pbx: AmiActions
    agent_states: AgentStateService
    dialer: Dialer
    campaigns: CampaignService
    callbacks: CallbackService
    click_to_dial: ClickToDial


def wire_cti(
    settings: Settings,
    pool: asyncpg.Pool,
    ami: AmiSettings | None,
    *,
    feeds: Feeds,
    agents: AccountService,
    customers: CustomerService,
    tickets: TicketService,
    knowledge_base: KnowledgeBase,
    bus: EventBus,
    clock: Callable[[], datetime],
) -> Cti:
    """AMI events -> the call tracker -> the pop and the bus; the dialer follows the calls it placed."""
    history = CallHistory(CallLogStore(pool), IvrVisitStore(pool), agents, bus)
    pops = ScreenPopService(
        customers, feeds.pops, history, topics=tickets, answers=knowledge_base, ivr_visits=history
    )
    feeds.pops.bind(pops)
    agent_states = AgentStateService(settings.agent_states, feeds.board, AgentStateStore(pool))
    feeds.board.bind(agent_states)
    pipeline = CallPipeline(pops, bus, agent_states=agent_states)
    client = None
    if ami is not None:
        client = AmiClient(ami, on_event=pipeline.on_ami_event, on_connected=pipeline.resync)
        pipeline.attach(client)
        agent_states.attach(client)
    pbx: AmiActions = client if client is not None else OfflinePbx()
    dialer_store = DialerStore(pool)
    dialer = Dialer(
        dialer_store,
        pbx,
        customers,
        tickets,
        feeds.outbound,
        settings=settings.dialer,
        available=agent_states.takes_calls,
    )
    pipeline.add_listener(dialer.on_ami_event, dialer.EVENT_NAMES)
    for kind in CALL_EVENT_TYPES:
        bus.subscribe(kind, dialer.on_call_event)
    click_to_dial = ClickToDial(pbx, settings.click_to_dial)
    callbacks = CallbackService(
        CallbackStore(pool),
        agents,
        tickets,
        feeds.callbacks,
        customers,
        click_to_dial,
        agent_states.takes_calls,
        clock,
        settings.callbacks,
    )
    return Cti(
        history,
        pops,
        pipeline,
        client,
        pbx,
        agent_states,
        dialer,
        CampaignService(dialer_store),
        callbacks,
        click_to_dial,
    )


@dataclass
class AlarmWork:
    """The escalation sweep and the alert outbox of this node (tests drive them by hand)."""

    sweeper: EscalationSweeper
    dispatcher: AlertDispatcher
    alarms: AlarmService


def wire_alarms(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    live: AlertChannel,
    email: NoticeChannel,
    calls: CallHistory,
    agents: AccountService,
    customers: CustomerService,
    bus: EventBus,
    jobs: PeriodicJobs,
    clock: Callable[[], datetime],
) -> AlarmWork:
    """The sweep (a periodic job, run at once for a new ticket), the alert outbox and the alarm service."""
    store = EscalationStore(pool)
    alarm_settings = settings.alarms
    channels: list[AlertChannel] = [live, EmailAlertChannel(email)]
    if alarm_settings.webhook is not None:
        channels.append(WebhookAlertChannel(alarm_settings.webhook))
    dispatcher = AlertDispatcher(store, {c.name: c for c in channels}, clock, bus)
    plan, policy = alarm_settings.plan, alarm_settings.policy
    sweeper = EscalationSweeper(store, policy, plan, clock, bus, agents=agents, raised=dispatcher.wake)
    alarms = AlarmService(
        store, policy, plan, calls, clock, bus, agents=agents, customers=customers, raised=dispatcher.wake
    )
    sweep = jobs.add(ESCALATION_SWEEP_JOB, sweeper.run_once, alarm_settings.sweep_interval_s)
    bus.subscribe(TicketOpened, sweep.run_soon)
    bus.subscribe(CallLogged, alarms.call_logged)
    return AlarmWork(sweeper, dispatcher, alarms)


def wire_ivr(
    settings: Settings,
    *,
    customers: CustomerService,
    tickets: TicketService,
    agents: AccountService,
    cti: Cti,
    knowledge_base: KnowledgeBase,
    bus: EventBus,
    clock: Callable[[], datetime],
) -> FastAgiServer:
    """The FastAGI server running the IVR menus."""
    flows = IvrFlows(
        settings.ivr.menu,
        customers=customers,
        tickets=tickets,
        agents=agents,
        callbacks=cti.callbacks,
        journal=cti.history,
        articles=knowledge_base,
        events=bus,
        clock=clock,
    )
    return FastAgiServer(settings.ivr.fastagi, {settings.ivr.script: flows.handle})


def wire_web(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    feeds: Feeds,
    agents: AccountService,
    customers: CustomerService,
    tickets: TicketService,
    alarms: AlarmService,
    knowledge_base: KnowledgeBase,
    cti: Cti,
    clock: Callable[[], datetime],
) -> web.Application:
    """The aiohttp application: the API, the agent sockets and the pages."""
    app = create_app(
        WebServices(
            settings=settings.web,
            accounts=agents,
            customers=customers,
            call_log=cti.history,
            tickets=tickets,
            hub=feeds.hub,
            ami_connected=lambda: cti.pbx.connected,
            database_ok=functools.partial(reachable, pool),
        )
    )
    setup_board(app, cti.agent_states, feeds.board)
    add_kb_routes(app, knowledge_base)
    add_portal_routes(app, knowledge_base)
    add_campaign_routes(
        app,
        CampaignServices(
            dialer=cti.dialer,
            campaigns=cti.campaigns,
            normalise_phone=customers.normalise_phone,
            default_timezone=settings.dialer.default_timezone,
        ),
    )
    add_proactive_routes(
        app,
        ProactiveServices(
            callbacks=cti.callbacks,
            click_to_dial=cti.click_to_dial,
            reports=TicketReports(ReportStore(pool)),
            customers=customers,
            display_names=agents.display_names,
            timezone=settings.reports_timezone,
        ),
    )
    add_alarm_routes(app, AlarmWebServices(alarms, clock))
    return app
