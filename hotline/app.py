"""The composition root: builds every feature (`hotline.wiring`), then runs and stops them in order.

Start order: database (embedded or given), migrations, the features and the web application,
then the knowledge index, the AMI client, the dialer and the agent states, the notice outbox,
the scheduler of the periodic jobs (the escalation sweep, greetings, due callbacks) with the
alert outbox, and the IVR. Stop order is the reverse: stop accepting HTTP, close the agent
sockets (GOING_AWAY), stop the IVR, the scheduler and the outboxes, the AMI client and the pop
work in flight, let the bus's subscribers finish, close the pool, stop the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from argon2 import PasswordHasher

from cti.ami_client import AmiSettings
from cti.pipeline import run_ami
from cti.screen_pop import ScreenPopService
from hotline.bus import EventBus
from hotline.db import create_pool, migrate
from hotline.embedded_pg import EmbeddedPostgres
from hotline.jobs import PeriodicJobs
from hotline.settings import Settings
from hotline.wiring import (
    AlarmWork,
    wire_agents,
    wire_alarms,
    wire_cti,
    wire_customers,
    wire_feeds,
    wire_ivr,
    wire_knowledge_base,
    wire_tickets,
    wire_web,
)
from ivr.fastagi import FastAgiServer
from tickets.greetings import GREETINGS_EVERY_S
from web_agent.app import AccessLogger

log = logging.getLogger(__name__)

# What tests drive by hand: the sweep and the alert outbox, the pop service, the IVR server.
ALARM_WORK = web.AppKey("alarm_work", AlarmWork)
SCREEN_POPS = web.AppKey("screen_pops", ScreenPopService)
IVR_SERVER = web.AppKey("ivr_server", FastAgiServer)


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
    """Build every feature and the web application around them, and say how they start and stop.

    `hasher` replaces argon2's default cost (tests use a cheap one); `clock` is the time every
    ticket rule sees; `run_jobs` adds the greetings and callback jobs to the escalation sweep
    (`serve` does; tests call those jobs themselves).
    """
    bus = EventBus()
    # The scheduler of this node's periodic jobs; due work itself lives in PostgreSQL.
    jobs = PeriodicJobs()
    agents = wire_agents(settings, pool, hasher)
    customers = wire_customers(settings, pool, bus)
    tickets = wire_tickets(settings, pool, customers, bus, clock)
    feeds = wire_feeds(settings, bus, agents, tickets.service)
    knowledge = wire_knowledge_base(settings, pool, bus, clock)
    cti = wire_cti(
        settings,
        pool,
        ami,
        feeds=feeds,
        agents=agents,
        customers=customers,
        tickets=tickets.service,
        knowledge_base=knowledge.base,
        bus=bus,
        clock=clock,
    )
    alarm_work = wire_alarms(
        settings,
        pool,
        live=feeds.alerts,
        email=tickets.email,
        calls=cti.history,
        agents=agents,
        customers=customers,
        bus=bus,
        jobs=jobs,
        clock=clock,
    )
    if run_jobs:
        jobs.add("special-day greetings", tickets.greetings.run_once, GREETINGS_EVERY_S)
        jobs.add("due callbacks", cti.callbacks.run_once, settings.callbacks.poll_s)
    app = wire_web(
        settings,
        pool,
        feeds=feeds,
        agents=agents,
        customers=customers,
        tickets=tickets.service,
        alarms=alarm_work.alarms,
        knowledge_base=knowledge.base,
        cti=cti,
        clock=clock,
    )
    app[ALARM_WORK] = alarm_work
    app[SCREEN_POPS] = cti.pops

    async def events(app: web.Application) -> AsyncIterator[None]:
        yield
        # Last to stop: what the others published on their way out is still followed up.
        await bus.close()

    async def knowledge_index(app: web.Application) -> AsyncIterator[None]:
        await knowledge.base.load()
        async with _running(knowledge.relay.run() if knowledge.relay else None, "redis-relay"):
            yield
        await knowledge.base.close()

    async def calls(app: web.Application) -> AsyncIterator[None]:
        client = cti.client
        async with (
            _running(cti.agent_states.run(), "agent-states", then=cti.agent_states.close),
            _running(cti.dialer.run(), "dialer", then=cti.dialer.close),
            _running(run_ami(client) if client else None, "ami", then=client.close if client else None),
        ):
            yield
        await cti.pops.close()

    async def background(app: web.Application) -> AsyncIterator[None]:
        # Caught up before the first request: the jobs' first runs, then what they queued is sent.
        await jobs.start()
        await alarm_work.dispatcher.run_once()
        await tickets.notices.run_once()
        async with (
            _running(tickets.notices.run(poll_s=notice_poll_s), "notices"),
            _running(alarm_work.dispatcher.run(poll_s=notice_poll_s), "alerts"),
        ):
            yield
            jobs.stop()

    app.cleanup_ctx.append(events)
    # Before the AMI starts: the first pop may already want suggestions from a loaded index.
    app.cleanup_ctx.append(knowledge_index)
    app.cleanup_ctx.append(calls)
    app.cleanup_ctx.append(background)
    if settings.ivr.enabled:
        ivr_server = wire_ivr(
            settings,
            customers=customers,
            tickets=tickets.service,
            agents=agents,
            cti=cti,
            knowledge_base=knowledge.base,
            bus=bus,
            clock=clock,
        )
        app[IVR_SERVER] = ivr_server

        async def ivr(app: web.Application) -> AsyncIterator[None]:
            await ivr_server.try_start()
            yield
            await ivr_server.close()

        app.cleanup_ctx.append(ivr)
    return app


@contextlib.asynccontextmanager
async def _running(
    work: Coroutine[Any, Any, None] | None,
    name: str,
    *,
    then: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[None]:
    """Run `work` (if any) as a task for the block; then cancel it, wait for it, and close with `then`."""
    task = asyncio.get_running_loop().create_task(work, name=name) if work is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if then is not None:
            await then()


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
