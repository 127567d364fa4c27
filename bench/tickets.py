"""Tickets: the service flow per second against bare INSERTs, and POST /api/tickets latency.

Two measurements, each against a baseline run in the same process on the same database:

1. Service flow. `--workers` concurrent workers on one pool (`hotline.db.create_pool`, the
   production size) each take a ticket through TicketService as agents do: `open(...,
   auto_assign=True)` (customer looked up, SLA deadlines from config/sla.toml and
   config/calendar.toml, the best free handler's workload row locked, two audit entries),
   `respond` (the first response) and `resolve` (confirm link issued, the service-completed
   email queued in the outbox, all in the transaction). Baseline: the same rows, the ticket as
   it ends up, its four audit entries and its outbox notice, written with bare asyncpg INSERTs
   in one transaction, no service logic. A third contender, only in the notes, runs the flow
   with the handler named by the intake agent instead of auto-assigned, to show what
   auto-assignment's locking costs. They alternate in rounds, so all see the table at about
   the same size.
2. POST /api/tickets. `--clients` signed-in agents, each an aiohttp ClientSession with its
   bearer token on its own keep-alive connection, post tickets (`auto_assign: true`) as fast as
   they are answered, against the real application (`hotline.app.build_web_app` on a TCP port,
   in this process, follow-ups and outbox dispatcher included). Baseline: the same clients
   posting the same bodies to a bare aiohttp handler that does one INSERT of the ticket row.
   Skipped, with a note, while the route does not exist.

The tickets table starts with `--history` resolved and closed tickets and their timelines
(COPY, not timed), as a call center's does after some months: a query that scans old tickets
shows up here and not on an empty table. While each round runs, pg_stat_activity is sampled
from a connection of its own: how many of the pool's statements are running, how many wait
for a lock, and which.

Run: `.venv/bin/python bench/tickets.py [--tickets 2000] [--workers 8] [--clients 50]
[--requests 1500] [--history 50000] [--database-url postgresql://…]`. The database comes from
bench/rig.py, as for every database benchmark: the URL given (a superuser's; a
scratch database is created and dropped), else $HOTLINE_BENCH_DATABASE_URL, else an embedded
PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import math
import os
import platform
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# This file is bench/tickets.py: with only bench/ in front, `import tickets` would find it
# instead of the tickets package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import asyncpg
from aiohttp import web
from argon2 import PasswordHasher
from harness import cpu_model, machine_busy_s, percentile_ms
from rig import DATABASE_URL_ENV, embedded_database, free_port, scratch_database

from agents import AccountService, Role
from agents.store import AccountStore
from customers.model import NewCustomer, Tier
from customers.service import CustomerService
from customers.store import CustomerStore
from hotline.app import build_web_app
from hotline.bus import EventBus
from hotline.db import create_pool, migrate
from hotline.settings import Settings, load_settings
from tickets import store as ticket_store_module
from tickets.model import Actor, Channel, NewTicket, Priority
from tickets.notify import LoggedEmailChannel
from tickets.service import TicketService
from tickets.store import TicketStore
from web_agent.app import AccessLogger

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
# Who handles what: skills are ticket categories; every category has handlers in two departments
# but "billing", which only the billing desk takes.
DEPARTMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Billing desk", ("billing", "account")),
    ("Technical support", ("technical", "delivery")),
    ("Front office", ("account", "delivery", "other", "technical")),
)
HANDLER_CAPACITY = 500
CUSTOMERS = 500
SEED_CONCURRENCY = 16
WARMUP_PER_WORKER = 3
WARMUP_PER_CLIENT = 2
PROGRESS_EVERY_S = 2.0
SAMPLE_EVERY_S = 0.05
SEED_TIMEOUT_S = 120.0
PHASE_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 30.0
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class Load:
    """What is measured, and how hard."""

    tickets: int
    workers: int
    clients: int
    requests: int
    history: int
    handlers: int
    rounds: int
    seed: int


@dataclass(frozen=True)
class TicketSpec:
    """One request to take in: the same for the service flow and its baseline."""

    subject: str
    description: str
    category: str
    priority: Priority
    customer_id: int


@dataclass
class Seeded:
    """What the database holds before anything is timed."""

    customers: dict[int, tuple[str, str, str]]  # id -> (name, tier, email)
    intake_ids: list[int]
    handler_ids: list[int]
    categories: tuple[str, ...]


def bench_settings() -> Settings:
    """config/hotline.toml with the real SLA policy and calendar, wherever the bench is run from."""
    config = REPO / "config"
    return load_settings(
        config / "hotline.toml",
        {
            "HOTLINE_TICKETS_SLA_FILE": str(config / "sla.toml"),
            "HOTLINE_TICKETS_CALENDAR_FILE": str(config / "calendar.toml"),
            "HOTLINE_LOGGING_LEVEL": "WARNING",
        },
    )


def ticket_specs(count: int, seeded: Seeded, rng: random.Random) -> list[TicketSpec]:
    """`count` varied requests: every category and priority, customers of every tier."""
    priorities = (Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.LOW, Priority.URGENT)
    ids = sorted(seeded.customers)
    return [
        TicketSpec(
            subject=f"Bench request {i}: {rng.choice(('no signal', 'double charge', 'late parcel', 'login'))}",
            description="The customer called about it. " * rng.randint(1, 6),
            category=rng.choice(seeded.categories),
            priority=rng.choice(priorities),
            customer_id=rng.choice(ids),
        )
        for i in range(count)
    ]


# -- the database ----------------------------------------------------------------------------


async def seed(pool: asyncpg.Pool, settings: Settings, load: Load, rng: random.Random) -> Seeded:
    """Agents (intake clerks and handlers with skills), customers with email, and old tickets."""
    accounts = AccountService(AccountStore(pool), token_ttl_s=3600, hasher=FAST_HASHER)
    customers = CustomerStore(pool)
    store = TicketStore(pool)
    semaphore = asyncio.Semaphore(SEED_CONCURRENCY)
    tiers = (Tier.STANDARD, Tier.STANDARD, Tier.STANDARD, Tier.GOLD, Tier.VIP)

    async def agent(name: str) -> int:
        async with semaphore:
            created = await accounts.create_agent(
                username=name, display_name=name.title(), password=PASSWORD, role=Role.AGENT, interfaces=[]
            )
            return created.id

    async def customer(index: int) -> tuple[int, tuple[str, str, str]]:
        new = NewCustomer.create(
            name=f"Bench Customer {index}",
            phones=[f"0902{index:06d}"],
            email=f"customer{index}@example.com",
            tier=tiers[index % len(tiers)],
            customer_no=f"T{index:06d}",
        )
        async with semaphore:
            created = await customers.create(new)
        return created.id, (created.name, created.tier.value, created.email or "")

    intake_count = max(load.clients, load.workers)
    intake = await asyncio.gather(*(agent(f"intake{i:03d}") for i in range(intake_count)))
    handlers = await asyncio.gather(*(agent(f"handler{i:03d}") for i in range(load.handlers)))
    for index, agent_id in enumerate(handlers):
        department, skills = DEPARTMENTS[index % len(DEPARTMENTS)]
        await store.set_handler(agent_id, department, skills, HANDLER_CAPACITY)
    found = dict(await asyncio.gather(*(customer(i) for i in range(CUSTOMERS))))
    seeded = Seeded(found, list(intake), list(handlers), settings.tickets.categories)
    await _seed_history(pool, seeded, load.history, rng)
    return seeded


async def _seed_history(pool: asyncpg.Pool, seeded: Seeded, count: int, rng: random.Random) -> None:
    """`count` tickets resolved or closed over the past months, assigned to today's handlers, with their timelines."""
    if not count:
        return
    now = datetime.now(UTC)
    ids = sorted(seeded.customers)
    by_skill = {
        c: [h for i, h in enumerate(seeded.handler_ids) if c in DEPARTMENTS[i % len(DEPARTMENTS)][1]]
        for c in seeded.categories
    }
    department_of = {h: DEPARTMENTS[i % len(DEPARTMENTS)][0] for i, h in enumerate(seeded.handler_ids)}
    records = []
    for i in range(count):
        customer_id = rng.choice(ids)
        name, tier, email = seeded.customers[customer_id]
        category = rng.choice(seeded.categories)
        assignee = rng.choice(by_skill[category])
        priority = rng.choice(tuple(Priority))
        created = now - timedelta(days=rng.uniform(1, 180))
        resolved = created + timedelta(hours=rng.uniform(0.5, 72))
        closed = resolved + timedelta(days=1) if i % 4 else None
        records.append(
            (
                "closed" if closed else "resolved",
                f"Old request {i}",
                "From the archive.",
                category,
                "phone",
                priority.value,
                priority.rank,
                customer_id,
                name,
                tier,
                {"standard": 0, "gold": 1, "vip": 2}[tier],
                tier == "vip",
                email,
                assignee,
                department_of[assignee],
                created,
                closed or resolved,
                created + timedelta(hours=4),
                created + timedelta(days=3),
                created + timedelta(minutes=30),
                resolved,
                closed,
                "Fixed back then.",
            )
        )
    await pool.copy_records_to_table(
        "tickets",
        records=records,
        columns=[
            "status",
            "subject",
            "description",
            "category",
            "channel",
            "priority",
            "priority_rank",
            "customer_id",
            "customer_name",
            "customer_tier",
            "tier_rank",
            "top_tier",
            "contact_email",
            "assignee_id",
            "department",
            "created_at",
            "updated_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "resolution",
        ],
    )
    # Their timelines, as the service flow would have written them.
    await pool.execute(
        """
        INSERT INTO ticket_events (ticket_id, at, actor_kind, actor_id, action, from_status, to_status,
                                   assignee_id, note, customer_visible)
        SELECT t.id, e.at, 'agent', t.assignee_id, e.action, e.from_status, e.to_status, t.assignee_id,
               e.note, e.action IN ('respond', 'resolve')
        FROM tickets t CROSS JOIN LATERAL (VALUES
            (t.created_at, 'open', NULL, 'new', t.description),
            (t.created_at, 'assign', 'new', 'assigned', 'auto-assigned'),
            (t.first_responded_at, 'respond', 'assigned', 'in_progress', 'We are looking into it.'),
            (t.resolved_at, 'resolve', 'in_progress', 'resolved', t.resolution),
            (t.closed_at, 'confirm', 'resolved', 'closed', '')
        ) AS e (at, action, from_status, to_status, note)
        WHERE e.at IS NOT NULL
        """,
        timeout=SEED_TIMEOUT_S,
    )
    await pool.execute("ANALYZE tickets; ANALYZE ticket_events")


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Phase:
    """Wall time, CPU and latencies of one contender in one measurement, over all its rounds."""

    label: str
    done: int = 0
    failed: int = 0
    first_error: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    machine: list[tuple[float, float]] = field(default_factory=list)  # (busy, total) deltas
    latencies_s: list[float] = field(default_factory=list)
    steps_s: dict[str, list[float]] = field(default_factory=dict)
    round_rates: list[float] = field(default_factory=list)
    # (statements running, of which waiting for a lock) on the pool's connections, every SAMPLE_EVERY_S
    samples: list[tuple[int, int]] = field(default_factory=list)
    # The statements found waiting for a lock, by their first words
    waited: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Items finished per second of wall time."""
        return self.done / self.wall_s if self.wall_s else math.nan

    @property
    def cpu_share(self) -> float:
        """This process's CPU (service, web app and clients) as a share of one core."""
        return self.cpu_s / self.wall_s if self.wall_s else math.nan

    @property
    def machine_busy(self) -> float | None:
        """Share of all cores busy meanwhile, whoever used them (PostgreSQL, this run, others)."""
        if not self.machine:
            return None
        busy, total = (sum(x) for x in zip(*self.machine, strict=True))
        return busy / total if total else None

    @property
    def running_statements(self) -> float:
        """Statements in PostgreSQL at once, on average (at most the pool's size)."""
        return sum(r for r, _ in self.samples) / len(self.samples) if self.samples else math.nan

    @property
    def waiting_on_locks(self) -> float:
        """Of those, how many were waiting for another transaction's lock, on average."""
        return sum(w for _, w in self.samples) / len(self.samples) if self.samples else math.nan

    def p_ms(self, q: float) -> float:
        """The q-quantile latency in milliseconds."""
        return percentile_ms(sorted(self.latencies_s), q)

    def step_ms(self, step: str, q: float) -> float:
        """The q-quantile of one step of the flow, in milliseconds."""
        return percentile_ms(sorted(self.steps_s.get(step, ())), q)

    def fail(self, error: str) -> None:
        """Count an item that did not get through, keeping the first reason."""
        self.failed += 1
        self.first_error = self.first_error or error


class LockWatch:
    """Samples pg_stat_activity from a connection of its own: are the pool's statements running or queued on locks?"""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def watching(self, phase: Phase) -> AsyncIterator[None]:
        """Add a sample to `phase` every SAMPLE_EVERY_S while the block runs."""

        async def sample() -> None:
            while True:
                rows = await self._conn.fetch(
                    """
                    SELECT wait_event_type = 'Lock' AS waiting, left(query, 200) AS query
                    FROM pg_stat_activity
                    WHERE application_name = 'hotline' AND state = 'active' AND pid <> pg_backend_pid()
                    """,
                    timeout=5,
                )
                waiting = [" ".join(r["query"].split())[:70] for r in rows if r["waiting"]]
                phase.samples.append((len(rows), len(waiting)))
                phase.waited.update(waiting)
                await asyncio.sleep(SAMPLE_EVERY_S)

        task = asyncio.get_running_loop().create_task(sample())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def timed_round(
    phase: Phase,
    items: Sequence[Any],
    concurrency: int,
    one: Callable[[int, Any], Awaitable[None]],
    watch: LockWatch | None = None,
) -> None:
    """Run `one(worker, item)` over `items` with `concurrency` workers; add wall and CPU to `phase`."""
    pending: Iterator[Any] = iter(items)
    before = phase.done + phase.failed

    async def worker(index: int) -> None:
        for item in pending:
            await one(index, item)

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            finished = phase.done + phase.failed - before
            elapsed = time.perf_counter() - started
            print(
                f"[{phase.label}] {finished}/{len(items)} in {elapsed:4.1f} s  "
                f"{finished / elapsed:7.1f}/s  failed {phase.failed}",
                file=sys.stderr,
            )

    machine_before = machine_busy_s()
    cpu_before = time.process_time()
    started = time.perf_counter()
    reporter = asyncio.get_running_loop().create_task(progress())
    try:
        async with (
            asyncio.timeout(PHASE_TIMEOUT_S),
            watch.watching(phase) if watch else contextlib.nullcontext(),
            asyncio.TaskGroup() as group,
        ):
            for index in range(concurrency):
                group.create_task(worker(index))
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
    wall_s = time.perf_counter() - started
    phase.wall_s += wall_s
    phase.cpu_s += time.process_time() - cpu_before
    machine_after = machine_busy_s()
    if machine_before is not None and machine_after is not None:
        phase.machine.append((machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]))
    phase.round_rates.append(len(items) / wall_s)
    print(
        f"[{phase.label}] round done: {len(items)} in {wall_s:.1f} s, {len(items) / wall_s:,.0f}/s, "
        f"failed {phase.failed}",
        file=sys.stderr,
    )


def rounds_of(items: Sequence[Any], rounds: int) -> list[Sequence[Any]]:
    """`items` cut into `rounds` nearly equal consecutive slices."""
    size = -(-len(items) // rounds)
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- 1. the service flow ---------------------------------------------------------------------


def ticket_service(pool: asyncpg.Pool, settings: Settings) -> TicketService:
    """TicketService as hotline/app.py builds it, minus the outbox dispatcher (notices stay queued)."""
    return TicketService(
        TicketStore(pool),
        settings.sla,
        CustomerService(CustomerStore(pool, default_country=settings.customers.default_country)),
        EventBus(),
        channels=[LoggedEmailChannel()],
        settings=settings.tickets,
        clock=lambda: datetime.now(UTC),
    )


def service_flow(
    service: TicketService, seeded: Seeded, phase: Phase, *, pick: Callable[[str], int] | None = None
) -> Callable[[int, TicketSpec], Awaitable[None]]:
    """One ticket from intake to resolved: open with auto-assign, first response, resolve.

    With `pick`, the intake agent names the handler (`pick(category)`) instead of auto-assigning.
    """
    categories = seeded.categories
    opening = "open + auto-assign" if pick is None else "open + assign"

    async def one(worker: int, spec: TicketSpec) -> None:
        intake = Actor.agent(seeded.intake_ids[worker])
        new = NewTicket.create(
            subject=spec.subject,
            description=spec.description,
            category=spec.category,
            channel=Channel.PHONE,
            priority=spec.priority,
            categories=categories,
            customer_id=spec.customer_id,
        )
        t0 = time.perf_counter()
        if pick is None:
            ticket = await service.open(new, intake, auto_assign=True)
        else:
            ticket = await service.open(new, intake, assignee_id=pick(spec.category))
        t1 = time.perf_counter()
        if ticket.assignee_id is None:
            raise RuntimeError(f"ticket {ticket.id} ({spec.category}) found no handler with room")
        handler = Actor.agent(ticket.assignee_id)
        ticket = await service.respond(
            ticket.id, handler, "We are looking into it.", expected_version=ticket.version
        )
        t2 = time.perf_counter()
        await service.resolve(
            ticket.id,
            handler,
            "Reset the line and tested it with the customer.",
            expected_version=ticket.version,
        )
        t3 = time.perf_counter()
        for step, took in ((opening, t1 - t0), ("respond", t2 - t1), ("resolve", t3 - t2)):
            phase.steps_s.setdefault(step, []).append(took)
        phase.latencies_s.append(t3 - t0)
        phase.done += 1

    return one


_BARE_TICKET = """
    INSERT INTO tickets (status, subject, description, category, channel, priority, priority_rank,
                         customer_id, customer_name, customer_tier, tier_rank, top_tier, contact_email,
                         assignee_id, department, created_by, created_at, updated_at, first_response_due,
                         resolution_due, first_responded_at, resolved_at, resolution, version,
                         confirm_token_hash, confirm_expires_at)
    VALUES ('resolved', $1, $2, $3, 'phone', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15,
            $16, $17, $15, $15, 'Reset the line and tested it with the customer.', 4, $18, $19)
    RETURNING id
"""
_BARE_ENTRY = """
    INSERT INTO ticket_events (ticket_id, at, actor_kind, actor_id, action, from_status, to_status,
                               assignee_id, note, customer_visible)
    VALUES ($1, $2, 'agent', $3, $4, $5, $6, $7, $8, $9)
"""
_BARE_NOTICE = """
    INSERT INTO ticket_notices (ticket_id, kind, channel, recipient, subject, body, next_attempt_at, created_at)
    VALUES ($1, 'service_completed', 'email', $2, $3, $4, $5, $5)
"""


def handlers_for(seeded: Seeded, category: str) -> list[tuple[int, str]]:
    """(agent id, department) of every handler with the skill for `category`."""
    return [
        (agent_id, DEPARTMENTS[i % len(DEPARTMENTS)][0])
        for i, agent_id in enumerate(seeded.handler_ids)
        if category in DEPARTMENTS[i % len(DEPARTMENTS)][1]
    ]


def bare_inserts(
    pool: asyncpg.Pool, seeded: Seeded, phase: Phase
) -> Callable[[int, TicketSpec], Awaitable[None]]:
    """The floor: the rows the flow leaves behind, INSERTed in one transaction, nothing decided."""
    handler_of = {c: handlers_for(seeded, c) for c in seeded.categories}
    ranks = {"standard": 0, "gold": 1, "vip": 2}

    async def one(worker: int, spec: TicketSpec) -> None:
        name, tier, email = seeded.customers[spec.customer_id]
        handlers = handler_of[spec.category]
        assignee, department = handlers[phase.done % len(handlers)]
        intake = seeded.intake_ids[worker]
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            ticket_id = await conn.fetchval(
                _BARE_TICKET,
                spec.subject,
                spec.description,
                spec.category,
                spec.priority.value,
                spec.priority.rank,
                spec.customer_id,
                name,
                tier,
                ranks[tier],
                tier == "vip",
                email,
                assignee,
                department,
                intake,
                now,
                now + timedelta(hours=2),
                now + timedelta(days=2),
                secrets.token_bytes(32),
                now + timedelta(days=14),
            )
            for actor, action, before, after, note, visible in (
                (intake, "open", None, "new", spec.description, False),
                (intake, "assign", "new", "assigned", "auto-assigned (Front office, 0 open before)", False),
                (assignee, "respond", "assigned", "in_progress", "We are looking into it.", True),
                (assignee, "resolve", "in_progress", "resolved", "Reset the line and tested it.", True),
            ):
                await conn.execute(
                    _BARE_ENTRY,
                    ticket_id,
                    now,
                    actor,
                    action,
                    before,
                    after,
                    None if action == "open" else assignee,
                    note,
                    visible,
                )
            await conn.execute(
                _BARE_NOTICE, ticket_id, email, f"Ticket #{ticket_id} resolved: {spec.subject}", "Dear …", now
            )
        phase.latencies_s.append(time.perf_counter() - t0)
        phase.done += 1

    return one


async def measure_service(
    pool: asyncpg.Pool, settings: Settings, seeded: Seeded, load: Load, rng: random.Random, watch: LockWatch
) -> tuple[Phase, Phase, Phase]:
    """The service flow, its floor, and the flow with the handler named, alternating round by round.

    The third isolates what auto-assignment costs: the intake names the handler, so no ranking
    snapshot is read and no busy handler is skipped. Each gets an untimed warm-up first.
    """
    service = ticket_service(pool, settings)
    rotations = {c: itertools.cycle(handlers_for(seeded, c)) for c in seeded.categories}

    def pick(category: str) -> int:
        return next(rotations[category])[0]

    contenders: list[tuple[Phase, Callable[[Phase], Callable[[int, TicketSpec], Awaitable[None]]]]] = [
        (Phase("service flow"), lambda phase: service_flow(service, seeded, phase)),
        (Phase("bare INSERTs"), lambda phase: bare_inserts(pool, seeded, phase)),
        (Phase("service flow, handler named"), lambda phase: service_flow(service, seeded, phase, pick=pick)),
    ]
    warmup = ticket_specs(WARMUP_PER_WORKER * load.workers, seeded, rng)
    for phase, make in contenders:
        scratch = Phase(f"{phase.label}, warm-up")
        await timed_round(scratch, warmup, load.workers, make(scratch))
    runs = [(phase, make(phase)) for phase, make in contenders]
    for part in rounds_of(ticket_specs(load.tickets, seeded, rng), load.rounds):
        for phase, one in runs:
            await timed_round(phase, part, load.workers, one, watch)
    ours, floor, named = (phase for phase, _ in runs)
    return ours, floor, named


# -- 2. POST /api/tickets --------------------------------------------------------------------


def has_ticket_route(app: web.Application) -> bool:
    """Whether the application serves POST /api/tickets yet."""
    return any(
        route.method == "POST" and route.resource is not None and route.resource.canonical == "/api/tickets"
        for route in app.router.routes()
    )


def ticket_body(spec: TicketSpec) -> dict[str, Any]:
    """What the desktop's "create ticket" sends."""
    return {
        "subject": spec.subject,
        "description": spec.description,
        "category": spec.category,
        "channel": "phone",
        "priority": spec.priority.value,
        "customer_id": spec.customer_id,
        "auto_assign": True,
    }


# The floor's rows are filed under this channel, so they can be taken out between rounds.
BARE_CHANNEL = "api"


def bare_app(pool: asyncpg.Pool) -> web.Application:
    """The floor: parse the JSON body, INSERT the ticket row, answer with its id."""

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        ticket_id = await pool.fetchval(
            """
            INSERT INTO tickets (status, subject, description, category, channel, priority, priority_rank,
                                 customer_id, customer_tier, tier_rank, top_tier, created_at, updated_at)
            VALUES ('new', $1, $2, $3, $4, $5, 1, $6, 'standard', 0, false, now(), now())
            RETURNING id
            """,
            body["subject"],
            body["description"],
            body["category"],
            BARE_CHANNEL,
            body["priority"],
            body["customer_id"],
        )
        return web.json_response({"id": ticket_id}, status=201)

    app = web.Application()
    app.router.add_post("/api/tickets", create)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a loopback TCP port; yields its base URL."""
    runner = web.AppRunner(app, access_log_class=AccessLogger, shutdown_timeout=5)
    await runner.setup()
    try:
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def sign_in(base_url: str, usernames: Sequence[str]) -> list[str]:
    """Bearer tokens of the intake agents, through POST /api/auth/login as the desktop does."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as http:

        async def one(username: str) -> str:
            body = {"username": username, "password": PASSWORD}
            async with http.post(f"{base_url}/api/auth/login", json=body) as answer:
                answer.raise_for_status()
                return str((await answer.json())["token"])

        return list(await asyncio.gather(*(one(u) for u in usernames)))


def poster(
    sessions: Sequence[aiohttp.ClientSession], url: str, phase: Phase
) -> Callable[[int, TicketSpec], Awaitable[None]]:
    """One client's request: POST the ticket, read the whole answer, time it."""

    async def one(client: int, spec: TicketSpec) -> None:
        body = ticket_body(spec)
        t0 = time.perf_counter()
        try:
            async with sessions[client].post(url, json=body) as answer:
                text = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            phase.fail(f"{type(exc).__name__}: {exc}")
            return
        took = time.perf_counter() - t0
        if status not in (200, 201):
            phase.fail(f"HTTP {status}: {text[:300].decode(errors='replace')}")
            return
        phase.latencies_s.append(took)
        phase.done += 1

    return one


async def measure_http(
    pool: asyncpg.Pool, settings: Settings, seeded: Seeded, load: Load, rng: random.Random, watch: LockWatch
) -> tuple[Phase, Phase] | None:
    """POST /api/tickets on the real app and on the bare handler; None if the route is not there."""
    app = build_web_app(settings, pool, ami=None, hasher=FAST_HASHER)
    if not has_ticket_route(app):
        return None
    ours, floor = Phase("POST /api/tickets"), Phase("bare POST handler")
    usernames = [f"intake{i:03d}" for i in range(load.clients)]
    async with contextlib.AsyncExitStack() as stack:
        hotline_url = await stack.enter_async_context(serving(app))
        floor_url = await stack.enter_async_context(serving(bare_app(pool)))
        tokens = await sign_in(hotline_url, usernames)
        sessions = []
        for token in tokens:
            session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            )
            stack.push_async_callback(session.close)
            sessions.append(session)
        targets = ((ours, f"{hotline_url}/api/tickets"), (floor, f"{floor_url}/api/tickets"))
        warmup = ticket_specs(WARMUP_PER_CLIENT * load.clients, seeded, rng)
        for phase, url in targets:
            scratch = Phase(f"{phase.label}, warm-up")
            await timed_round(scratch, warmup, load.clients, poster(sessions, url, scratch))
        await remove_bare_tickets(pool)
        posters = [(phase, poster(sessions, url, phase)) for phase, url in targets]
        for part in rounds_of(ticket_specs(load.requests, seeded, rng), load.rounds):
            for phase, one in posters:
                await timed_round(phase, part, load.clients, one, watch)
            # Hotline's tickets stay open, as a queue grows during the day; the floor's would sit in
            # the same open-ticket indexes Hotline's work lists read, so they go (untimed).
            await remove_bare_tickets(pool)
    return ours, floor


async def remove_bare_tickets(pool: asyncpg.Pool) -> None:
    """Delete the rows the bare handler wrote."""
    await pool.execute("DELETE FROM tickets WHERE channel = $1", BARE_CHANNEL)


# -- a look at where the time goes -----------------------------------------------------------


async def handler_workload_query(pool: asyncpg.Pool, category: str) -> str:
    """What reading the handlers' workloads costs now: the store's own statement, timed and explained."""
    store = TicketStore(pool)
    took_s = []
    for _ in range(20):
        started = time.perf_counter()
        await store.handler_loads(category)
        took_s.append(time.perf_counter() - started)
    open_now = await pool.fetchval("SELECT count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')")
    total = await pool.fetchval("SELECT count(*) FROM tickets")
    # The handlers and their workloads as options() and a reassignment read them: which scans?
    plan = await pool.fetch(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + ticket_store_module._HANDLERS, category
    )
    scans = sorted({line[0].strip().removeprefix("->").strip() for line in plan if " Scan " in line[0]})
    return (
        f"handler_loads({category!r}) median {sorted(took_s)[len(took_s) // 2] * 1000:.2f} ms with "
        f"{open_now} open of {total} tickets; plan: {'; '.join(scans) or '?'}"
    )


# -- the report ------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f} ms"


def _rate(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}/s"


def _ratio(ours: float, floor: float) -> str:
    if math.isnan(ours) or math.isnan(floor) or floor <= 0:
        return "–"
    return f"**{ours / floor:.2f}×**"


def _share(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.0%}"


def table(load: Load, service: tuple[Phase, Phase, Phase], http: tuple[Phase, Phase] | None) -> list[str]:
    """The markdown rows for bench/RESULTS.md, headed by the machine and the load."""
    ours, floor, _ = service
    flow = f"ticket flow, {load.workers} workers"
    lines = [
        f"<!-- {datetime.now(UTC):%Y-%m-%d}; {load.tickets} tickets in {load.rounds} rounds alternating with "
        f"the baseline, {load.handlers} handlers, {CUSTOMERS} customers, {load.history} old tickets; "
        f"HTTP: {load.clients} clients, {load.requests} requests each side; nproc {os.cpu_count()}, "
        f"{cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.machine()} -->",
        "| benchmark | figure | Hotline | baseline | ratio |",
        "|---|---|---:|---:|---:|",
        f"| {flow} | tickets opened+assigned+responded+resolved per second | {_rate(ours.rate)} | "
        f"{_rate(floor.rate)} | {_ratio(ours.rate, floor.rate)} |",
    ]
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        lines.append(
            f"| {flow} | {name} of one ticket's flow | {_ms(ours.p_ms(q))} | {_ms(floor.p_ms(q))} | "
            f"{_ratio(ours.p_ms(q), floor.p_ms(q))} |"
        )
    if http is None:
        lines.append(
            f"| POST /api/tickets, {load.clients} clients | – | not measured: no route yet | – | – |"
        )
        return lines
    post, bare = http
    bench = f"POST /api/tickets, {load.clients} clients"
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        lines.append(
            f"| {bench} | {name} latency | {_ms(post.p_ms(q))} | {_ms(bare.p_ms(q))} | "
            f"{_ratio(post.p_ms(q), bare.p_ms(q))} |"
        )
    lines.append(
        f"| {bench} | requests answered per second | {_rate(post.rate)} | {_rate(bare.rate)} | "
        f"{_ratio(post.rate, bare.rate)} |"
    )
    lines.append(f"| {bench} | failed requests | {post.failed} | {bare.failed} | – |")
    return lines


def notes(service: tuple[Phase, Phase, Phase], http: tuple[Phase, Phase] | None, plan: str) -> list[str]:
    """Side figures: where the flow spends its time, and whether the run itself can be trusted."""
    ours, _, named = service
    lines = []
    for phase in (ours, named):
        steps = ", ".join(
            f"{step} p50 {_ms(phase.step_ms(step, 0.5))} / p99 {_ms(phase.step_ms(step, 0.99))}"
            for step in phase.steps_s
        )
        lines.append(f"{phase.label} steps: {steps}")
    lines.append(
        f"auto-assign (ranks the skilled handlers, locks the best free one) {_rate(ours.rate)} against the "
        f"handler named by the intake agent {_rate(named.rate)}: {_ratio(ours.rate, named.rate)}"
    )
    for phase in (*service, *(http or ())):
        rounds = " → ".join(_rate(r) for r in phase.round_rates)
        lines.append(
            f"{phase.label}: rounds {rounds}; statements in PostgreSQL at once {phase.running_statements:.1f}, "
            f"of them waiting for a lock {phase.waiting_on_locks:.1f}; this process {_share(phase.cpu_share)} "
            f"of one core; whole machine {_share(phase.machine_busy)} busy across its {os.cpu_count()} cores"
            + (f"; {phase.failed} failed, first: {phase.first_error}" if phase.failed else "")
        )
        if phase.waited:
            query, times = phase.waited.most_common(1)[0]
            share = times / sum(phase.waited.values())
            lines.append(f"  {phase.label}: {share:.0%} of the lock waits seen were in `{query}…`")
    lines.append(f"after the run: {plan}")
    return lines


# -- entry point -----------------------------------------------------------------------------


async def run(load: Load, database_url: str | None) -> list[str]:
    """Prepare the database, measure the service flow then the HTTP API, and return the report lines."""
    settings = bench_settings()
    rng = random.Random(load.seed)
    where = "an embedded PostgreSQL" if database_url is None else "a scratch database"
    print(
        f"seeding agents, handlers, {CUSTOMERS} customers and {load.history} old tickets in {where}",
        file=sys.stderr,
    )
    database = embedded_database() if database_url is None else scratch_database(database_url)
    async with database as url:
        pool = await create_pool(url)
        try:
            async with asyncio.timeout(SEED_TIMEOUT_S):
                async with pool.acquire() as conn:
                    await migrate(conn)
                seeded = await seed(pool, settings, load, rng)
            watch_conn = await asyncpg.connect(url, timeout=10)
            try:
                watch = LockWatch(watch_conn)
                service = await measure_service(pool, settings, seeded, load, rng, watch)
                http = await measure_http(pool, settings, seeded, load, rng, watch)
            finally:
                await watch_conn.close(timeout=5)
            if http is None:
                print("POST /api/tickets does not exist yet: HTTP part skipped", file=sys.stderr)
            plan = await handler_workload_query(pool, "account")
            # The planner last saw the table when no ticket was open; with fresh statistics:
            await pool.execute("ANALYZE tickets")
            plan += "\nafter ANALYZE: " + await handler_workload_query(pool, "account")
        finally:
            await pool.close()
    return [*table(load, service, http), "", *notes(service, http, plan)]


def main() -> int:
    """Parse the options, run both measurements, print the table."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument(
        "--tickets", type=int, default=2000, help="tickets through the service flow (and baseline)"
    )
    cli.add_argument("--workers", type=int, default=8, help="concurrent service-flow workers on the pool")
    cli.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients (signed-in agents)")
    cli.add_argument("--requests", type=int, default=1500, help="POST /api/tickets requests (and baseline)")
    cli.add_argument("--history", type=int, default=50_000, help="resolved tickets in the table beforehand")
    cli.add_argument("--handlers", type=int, default=12, help="agents with a handler profile")
    cli.add_argument("--rounds", type=int, default=2, help="alternations between Hotline and the baseline")
    cli.add_argument("--seed", type=int, default=1, help="seed of the generated requests")
    cli.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_URL_ENV),
        help=f"PostgreSQL superuser URL (default ${DATABASE_URL_ENV}, else an embedded PostgreSQL)",
    )
    args = cli.parse_args()
    if min(args.tickets, args.workers, args.clients, args.requests, args.rounds) < 1 or args.history < 0:
        cli.error("--tickets, --workers, --clients, --requests and --rounds must be at least 1")
    if args.handlers < len(DEPARTMENTS):
        cli.error(f"--handlers must be at least {len(DEPARTMENTS)} (one per department)")
    load = Load(
        tickets=args.tickets,
        workers=args.workers,
        clients=args.clients,
        requests=args.requests,
        history=args.history,
        handlers=args.handlers,
        rounds=args.rounds,
        seed=args.seed,
    )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        lines = asyncio.run(run(load, args.database_url))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
