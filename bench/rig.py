"""The rig the end-to-end benchmarks run on: a database, seeded accounts, `hotline serve`, the PBX simulator.

bench/screen_pop_latency.py and bench/wallboard_fanout.py play the simulator's calls into a server
in its own process and time what reaches the agents' sockets; bench/tickets.py,
bench/escalation_sweep.py and bench/reports.py take the database from here. The database is
--database-url (a superuser's: a scratch database `bench_pop_<hex>` is created and dropped), else
$HOTLINE_BENCH_DATABASE_URL, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from argon2 import PasswordHasher
from relay import AMI_URL_ENV
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agents import AccountService, Role
from agents.store import AccountStore
from cti.simulator import PbxSimulator, SimulatorSettings
from customers.model import NewCustomer, Tier
from customers.store import CustomerStore
from hotline.db import create_pool, migrate
from hotline.embedded_pg import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "bench"
DATABASE_URL_ENV = "HOTLINE_BENCH_DATABASE_URL"
PASSWORD = "bench-password-1"
AMI_USER = "hotline"
FIRST_EXTENSION = 1000
KNOWN_CALLERS = 1000
# One caller in five is not a customer: those pops go out without a card, as in production.
UNKNOWN_CALLERS = 250
INTERACTIONS_PER_CUSTOMER = 3
# Enough parallel logins and handshakes to sign 500 agents in within seconds, few enough that
# the server's accept queue and thread pool are not what is being measured.
LOGIN_CONCURRENCY = 20
CONNECT_CONCURRENCY = 50
PROGRESS_EVERY_S = 5.0
READY_TIMEOUT_S = 60.0
SEED_TIMEOUT_S = 120.0
SIGN_IN_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Load:
    """The traffic both servers get, and how long it is measured."""

    agents: int
    calls_per_s: float
    seconds: float
    warmup_s: float
    drain_s: float
    ring_s: float
    talk_s: float
    seed: int

    @property
    def interfaces(self) -> tuple[str, ...]:
        """The agents' phones, one PJSIP interface each."""
        return tuple(f"PJSIP/{FIRST_EXTENSION + i}" for i in range(self.agents))


def username(interface: str) -> str:
    """The seeded account that owns `interface` (PJSIP/1000 -> agent1000)."""
    return "agent" + interface.removeprefix("PJSIP/")


# -- the database ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    """A new database on the given server for this run, dropped afterwards; yields its URL."""
    name = f"bench_pop_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"', timeout=30)
        try:
            yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
        finally:
            # FORCE: a server that failed to stop must not keep the database alive.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=30)
    finally:
        await admin.close(timeout=5)


@contextlib.asynccontextmanager
async def embedded_database() -> AsyncIterator[str]:
    """A throwaway embedded PostgreSQL in a temporary directory; yields its URL."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # pgserver keeps a lock file in the runtime directory and touches it again at exit,
        # after the temporary directory is gone; a fixed per-user one is reused run after run
        # (EmbeddedPostgres would otherwise put it inside the data directory).
        runtime = Path(tempfile.gettempdir()) / f"hotline-bench-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as data_dir:
        embedded = EmbeddedPostgres(Path(data_dir))
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                url = await embedded.start()
            yield url
        finally:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await embedded.stop()


async def prepare_database(url: str, load: Load) -> tuple[tuple[str, str], ...]:
    """Migrate, seed the agents and customers; return the (number, name) callers to dial from."""
    async with asyncio.timeout(SEED_TIMEOUT_S):
        pool = await create_pool(url)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            return await _seed(pool, load)
        finally:
            await pool.close()


async def _seed(pool: asyncpg.Pool, load: Load) -> tuple[tuple[str, str], ...]:
    # Hashing cost is not what is measured; the server verifies with the cost stored in the
    # hash, so 500 sign-ins take seconds instead of minutes.
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts = AccountService(AccountStore(pool), token_ttl_s=3600, hasher=hasher)
    customers = CustomerStore(pool)
    now = datetime.now(UTC)
    tiers = tuple(Tier)
    known = tuple((f"0901{i:06d}", f"Bench Customer {i}") for i in range(KNOWN_CALLERS))
    unknown = tuple((f"0977{i:06d}", f"Stranger {i}") for i in range(UNKNOWN_CALLERS))

    async def customer(index: int, phone: str, name: str) -> None:
        created = await customers.create(
            NewCustomer.create(
                name=name, phones=[phone], tier=tiers[index % len(tiers)], customer_no=f"B{index:06d}"
            )
        )
        for k in range(INTERACTIONS_PER_CUSTOMER):
            when = now - timedelta(days=k + 1, minutes=index)
            await customers.add_interaction(created.id, when, "call", f"Earlier call #{k + 1}", None)

    async with asyncio.TaskGroup() as group:
        for interface in load.interfaces:
            group.create_task(
                accounts.create_agent(
                    username=username(interface),
                    display_name=f"Agent {interface}",
                    password=PASSWORD,
                    role=Role.AGENT,
                    interfaces=[interface],
                )
            )
        for index, (phone, name) in enumerate(known):
            group.create_task(customer(index, phone, name))
    return known + unknown


# -- the servers under test ------------------------------------------------------------------


def child_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without the developer's HOTLINE_* settings, plus `settings`."""
    # A developer's own HOTLINE_* settings must not change the server being measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(settings)
    return env


def hotline_command(port: int, ami_url: str, database_url: str) -> tuple[list[str], dict[str, str]]:
    """`hotline serve` as an operator runs it, with config/hotline.toml and the environment."""
    env = child_env(
        {
            "HOTLINE_AMI_URL": ami_url,
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_SERVER_HOST": "127.0.0.1",
            "HOTLINE_SERVER_PORT": str(port),
            "HOTLINE_LOGGING_LEVEL": "WARNING",
        }
    )
    return [sys.executable, "-m", "hotline.cli", "serve"], env


def relay_command(script: str, port: int, ami_url: str) -> tuple[list[str], dict[str, str]]:
    """A floor server (bench/pop_relay.py, bench/wallboard_relay.py); it never touches the database."""
    return [sys.executable, str(BENCH_DIR / script), "--port", str(port)], child_env({AMI_URL_ENV: ami_url})


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running_server(argv: list[str], env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run a server process; SIGTERM it (SIGKILL after STOP_TIMEOUT_S) however the block ends."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                print(f"  pid {process.pid} ignored SIGTERM; killing it", file=sys.stderr)
                process.kill()
                await process.wait()


async def wait_ready(process: asyncio.subprocess.Process, port: int) -> None:
    """Poll /api/health until the server answers and its AMI login is up."""
    url = f"http://127.0.0.1:{port}/api/health"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            async with asyncio.timeout(READY_TIMEOUT_S):
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(f"the server exited with code {process.returncode} while starting")
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.get(url) as answer:
                            if (await answer.json(content_type=None)).get("ami") == "connected":
                                return
                    await asyncio.sleep(0.1)
    except TimeoutError:
        raise RuntimeError(f"the server was not ready within {READY_TIMEOUT_S:g} s") from None


# -- the agents' sockets ---------------------------------------------------------------------


class BenchSockets:
    """Open WebSockets, each read by its own task that hands every text frame to `on_frame`.

    `on_frame(raw, owner, received_at)` gets the frame unparsed: a benchmark parses only the
    frames it times, since this process's own delays count against both servers.
    """

    def __init__(self, on_frame: Callable[[str, str, float], None], *, open_timeout_s: float = 10.0) -> None:
        self._on_frame = on_frame
        self._open_timeout_s = open_timeout_s
        self._sockets: list[ClientConnection] = []
        self._readers: set[asyncio.Task[None]] = set()
        self._closing = False
        self.closed_early = 0
        self.frames = 0

    async def connect(self, urls: Sequence[tuple[str, str]]) -> None:
        """Open one socket per (owner, url) and wait for each server's hello."""
        semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)
        timeout_s = self._open_timeout_s

        async def open_one(owner: str, url: str) -> None:
            async with semaphore:
                # No client pings (the server sends its own heartbeat), no compression (the
                # server declines it), and no proxy from the environment: loopback only.
                ws = await connect(
                    url,
                    open_timeout=timeout_s,
                    close_timeout=2,
                    ping_interval=None,
                    compression=None,
                    proxy=None,
                )
                self._sockets.append(ws)
                async with asyncio.timeout(timeout_s):
                    hello = await ws.recv()
                if not isinstance(hello, str) or '"hello"' not in hello:
                    raise RuntimeError(f"expected a hello frame on {owner}'s socket, got {hello!r}")
                task = asyncio.get_running_loop().create_task(self._read(ws, owner))
                self._readers.add(task)
                task.add_done_callback(self._readers.discard)

        async with asyncio.TaskGroup() as group:
            for owner, url in urls:
                group.create_task(open_one(owner, url))

    async def _read(self, ws: ClientConnection, owner: str) -> None:
        on_frame = self._on_frame
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                received_at = time.perf_counter()
                self.frames += 1
                if isinstance(raw, str):
                    on_frame(raw, owner, received_at)
        if not self._closing:
            self.closed_early += 1

    @property
    def count(self) -> int:
        """Sockets opened."""
        return len(self._sockets)

    async def close(self) -> None:
        """Close every socket (bounded), then stop the readers."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.gather(*(ws.close() for ws in self._sockets), return_exceptions=True)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


# -- the traffic -----------------------------------------------------------------------------


def add_traffic_arguments(cli: argparse.ArgumentParser, *, drain_what: str) -> None:
    """The traffic options every simulator-driven benchmark takes, and the database to use."""
    cli.add_argument("--calls-per-s", type=float, default=50.0, help="calls offered per second")
    cli.add_argument("--seconds", type=float, default=20.0, help="length of the measuring window")
    # One ring + talk: by then calls also end (call log and timeline writes), as they do all day.
    cli.add_argument("--warmup-s", type=float, default=8.0, help="traffic before measuring starts")
    cli.add_argument("--drain-s", type=float, default=5.0, help=f"wait this long for the last {drain_what}")
    cli.add_argument("--ring-s", type=float, default=1.0, help="how long an agent's phone rings")
    # 50 calls/s x (1 s ring + 6 s talk + the recorded set-up) keeps ~400 of 500 agents busy.
    cli.add_argument("--talk-s", type=float, default=6.0, help="how long an answered call lasts")
    cli.add_argument("--seed", type=int, default=1, help="traffic seed (the same for both servers)")
    cli.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_URL_ENV),
        help=f"PostgreSQL superuser URL (default ${DATABASE_URL_ENV}, else an embedded PostgreSQL)",
    )


def traffic_load(args: argparse.Namespace, agents: int) -> Load:
    """The Load the traffic options describe, for `agents` signed-in agents."""
    return Load(
        agents=agents,
        calls_per_s=args.calls_per_s,
        seconds=args.seconds,
        warmup_s=args.warmup_s,
        drain_s=args.drain_s,
        ring_s=args.ring_s,
        talk_s=args.talk_s,
        seed=args.seed,
    )


def simulator_for(load: Load, secret: str, callers: tuple[tuple[str, str], ...]) -> PbxSimulator:
    """The PBX simulator playing `load`; the same seed for every contender, so both get the same calls."""
    return PbxSimulator(
        SimulatorSettings(
            username=AMI_USER,
            secret=secret,
            agent_interfaces=load.interfaces,
            calls_per_minute=load.calls_per_s * 60,
            ring_s=load.ring_s,
            talk_s=load.talk_s,
            caller_numbers=callers,
            seed=load.seed,
        )
    )
