"""Screen-pop latency: from AgentCalled leaving the PBX to the pop arriving at the ringing agent.

The issue's figure: 500 agents signed in over WebSocket while the PBX simulator plays 50 calls/s
into Hotline; target p99 <= 50 ms. The server runs in its own process (`hotline serve`, as in
production, so it has a core to itself); the simulator and the agents' sockets share this
process, so both ends of every measurement read the same `time.perf_counter()`. A latency is the
time between the simulator writing an AgentCalled frame and the `screen_pop` frame for that call
(call_id = Linkedid) arriving on the socket of the agent owning the called interface. Every
offer made inside the measuring window must be popped; the ones that are not are counted as missed.

The baseline, run with the same traffic (same seed) in the same run, is `bench/pop_relay.py`:
our AMI client and one aiohttp WebSocket frame per AgentCalled, with no tracker, no database
and no hub queues. That is the floor any screen pop pays (AMI transport, parse, delivery).

Run: `.venv/bin/python bench/screen_pop_latency.py [--agents 500] [--calls-per-s 50]
[--seconds 20] [--database-url postgresql://…]`. Without a URL it takes
$HOTLINE_BENCH_DATABASE_URL, else it starts an embedded PostgreSQL in a temporary directory.
Given a URL (a superuser's), it creates a scratch database `bench_pop_<hex>` and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import asyncpg
from argon2 import PasswordHasher
from machine import cpu_model
from pop_relay import AMI_URL_ENV
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agents import AccountService, Role
from agents.store import AccountStore
from cti.ami_protocol import AmiMessage
from cti.calls import normalise_interface
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


# -- the measurement -------------------------------------------------------------------------


class PopClock:
    """Pairs each AgentCalled the simulator writes with the screen pop its agent receives."""

    def __init__(self) -> None:
        self.measuring = False
        self.offers = 0
        self.latencies_s: list[float] = []
        # (call_id, interface) -> send times not yet popped; a list in case a call rings the
        # same agent twice.
        self._waiting: dict[tuple[str, str], list[float]] = {}
        # Set once the window is closed and every offer in it has been popped.
        self.drained = asyncio.Event()

    def stop(self) -> None:
        """Close the window: later offers are not timed."""
        self.measuring = False
        if not self.outstanding:
            self.drained.set()

    def on_frame_sent(self, name: str, frame: AmiMessage | bytes, sent_at: float) -> None:
        """Simulator callback: note when an AgentCalled inside the window left for the server."""
        if name != "AgentCalled" or not self.measuring:
            return
        if isinstance(frame, AmiMessage):
            call_id, interface = frame.get("Linkedid"), frame.get("Interface")
        else:
            call_id, interface = _header(frame, b"Linkedid"), _header(frame, b"Interface")
        self._waiting.setdefault((call_id, normalise_interface(interface)), []).append(sent_at)
        self.offers += 1

    def on_pop(self, call_id: str, interface: str, received_at: float) -> None:
        """A screen_pop arrived on the socket of the agent owning `interface`."""
        key = (call_id, interface)
        sent = self._waiting.get(key)
        if not sent:
            return  # offered during the warm-up
        self.latencies_s.append(received_at - sent.pop(0))
        if not sent:
            del self._waiting[key]
        if not self.measuring and not self.outstanding:
            self.drained.set()

    @property
    def outstanding(self) -> int:
        """Offers in the window whose pop has not arrived (yet)."""
        return self.offers - len(self.latencies_s)


def _header(frame: bytes, key: bytes) -> str:
    # The frame starts with `Event:`, so every other header follows a CRLF; matching the CRLF
    # keeps `DestLinkedid` from passing for `Linkedid`.
    start = frame.index(b"\r\n" + key + b": ") + len(key) + 4
    return frame[start : frame.index(b"\r\n", start)].decode()


def percentile_ms(sorted_s: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds (NaN when empty)."""
    if not sorted_s:
        return math.nan
    return sorted_s[max(1, math.ceil(q * len(sorted_s))) - 1] * 1000


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), or None when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat; None when unreadable."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # idle and iowait are the 4th and 5th counters; guest time is already inside user.
    total = sum(ticks[:8])
    hz = os.sysconf("SC_CLK_TCK")
    return (total - ticks[3] - ticks[4]) / hz, total / hz


@dataclass(frozen=True)
class CpuSample:
    """The CPU counters that matter, read at one moment."""

    at_s: float  # time.perf_counter()
    server_s: float | None
    generator_s: float
    machine: tuple[float, float] | None

    @classmethod
    def take(cls, pid: int) -> CpuSample:
        """Read the server's, this process's and the whole machine's CPU time now."""
        return cls(time.perf_counter(), cpu_seconds(pid), time.process_time(), machine_busy_s())


@dataclass(frozen=True)
class Usage:
    """CPU spent between two samples, to tell a quiet run from a disturbed one."""

    start: CpuSample
    end: CpuSample

    @property
    def window_s(self) -> float:
        """Wall time between the samples."""
        return self.end.at_s - self.start.at_s

    @property
    def server_cpu_s(self) -> float | None:
        """CPU seconds of the server process (all its threads)."""
        if self.start.server_s is None or self.end.server_s is None:
            return None
        return self.end.server_s - self.start.server_s

    @property
    def server_share(self) -> float | None:
        """The server's CPU as a share of one core."""
        cpu_s = self.server_cpu_s
        return None if cpu_s is None else cpu_s / self.window_s

    @property
    def generator_share(self) -> float:
        """This process's CPU (simulator and agents) as a share of one core."""
        return (self.end.generator_s - self.start.generator_s) / self.window_s

    @property
    def machine_busy(self) -> float | None:
        """Share of all cores busy, whoever used them: PostgreSQL, this run, and anything else."""
        if self.start.machine is None or self.end.machine is None:
            return None
        return (self.end.machine[0] - self.start.machine[0]) / (self.end.machine[1] - self.start.machine[1])


@dataclass(frozen=True)
class RunResult:
    """What one server did with the load."""

    label: str
    latencies_s: list[float]  # sorted
    offers: int
    closed_early: int
    usage: Usage

    @property
    def pops(self) -> int:
        """Offers in the window whose pop arrived."""
        return len(self.latencies_s)

    @property
    def missed(self) -> int:
        """Offers in the window whose pop never arrived."""
        return self.offers - self.pops

    def p_ms(self, q: float) -> float:
        """The q-quantile latency in milliseconds."""
        return percentile_ms(self.latencies_s, q)

    @property
    def cpu_ms_per_pop(self) -> float | None:
        """Server CPU over the window per offer in it: everything a call costs, per pop."""
        if self.usage.server_cpu_s is None or not self.offers:
            return None
        return self.usage.server_cpu_s / self.offers * 1000


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


def _child_env(settings: dict[str, str]) -> dict[str, str]:
    # A developer's own HOTLINE_* settings must not change the server being measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(settings)
    return env


def _hotline_command(port: int, ami_url: str, database_url: str) -> tuple[list[str], dict[str, str]]:
    """`hotline serve` as an operator runs it, with config/hotline.toml and the environment."""
    env = _child_env(
        {
            "HOTLINE_AMI_URL": ami_url,
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_SERVER_HOST": "127.0.0.1",
            "HOTLINE_SERVER_PORT": str(port),
            "HOTLINE_LOGGING_LEVEL": "WARNING",
        }
    )
    return [sys.executable, "-m", "hotline.cli", "serve"], env


def _relay_command(port: int, ami_url: str, database_url: str) -> tuple[list[str], dict[str, str]]:
    """The floor's command line; it never touches the database."""
    return [sys.executable, str(BENCH_DIR / "pop_relay.py"), "--port", str(port)], _child_env(
        {AMI_URL_ENV: ami_url}
    )


async def _hotline_sockets(port: int, interfaces: Sequence[str]) -> list[tuple[str, str]]:
    """Sign every agent in through POST /api/auth/login, as the desktop does."""
    semaphore = asyncio.Semaphore(LOGIN_CONCURRENCY)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def sign_in(interface: str) -> tuple[str, str]:
            body = {"username": username(interface), "password": PASSWORD}
            async with semaphore, http.post(f"http://127.0.0.1:{port}/api/auth/login", json=body) as answer:
                answer.raise_for_status()
                token = (await answer.json())["token"]
            return interface, f"ws://127.0.0.1:{port}/ws?{urlencode({'token': token})}"

        return list(await asyncio.gather(*(sign_in(i) for i in interfaces)))


async def _relay_sockets(port: int, interfaces: Sequence[str]) -> list[tuple[str, str]]:
    return [(i, f"ws://127.0.0.1:{port}/ws?{urlencode({'interface': i})}") for i in interfaces]


@dataclass(frozen=True)
class Contender:
    """A server under test: its command line and how an agent gets a socket URL."""

    label: str
    command: Callable[[int, str, str], tuple[list[str], dict[str, str]]]
    socket_urls: Callable[[int, Sequence[str]], Awaitable[list[tuple[str, str]]]]


HOTLINE = Contender("Hotline", _hotline_command, _hotline_sockets)
RELAY = Contender("floor", _relay_command, _relay_sockets)


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


def pop_timer(clock: PopClock) -> Callable[[str, str, float], None]:
    """The frame handler of an agent's socket: time its screen pops, skip the rest unparsed."""

    def on_frame(raw: str, interface: str, received_at: float) -> None:
        if '"screen_pop"' not in raw:
            return
        message = json.loads(raw)
        if message.get("type") == "screen_pop":
            clock.on_pop(message["data"]["call_id"], interface, received_at)

    return on_frame


# -- one run ---------------------------------------------------------------------------------


async def run_contender(
    contender: Contender, load: Load, database_url: str, callers: tuple[tuple[str, str], ...]
) -> RunResult:
    """Start a simulator and the server, connect the agents, play the traffic and time the pops."""
    label = contender.label
    secret = secrets.token_urlsafe(16)
    simulator = simulator_for(load, secret, callers)
    clock = PopClock()
    sockets = BenchSockets(pop_timer(clock))
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        # Unwound in reverse: traffic, sockets, server, simulator, so the server never sees
        # its PBX vanish and no socket outlives its server.
        await simulator.start()
        stack.push_async_callback(simulator.close)
        simulator.on_frame_sent(clock.on_frame_sent)
        port = free_port()
        argv, env = contender.command(
            port, f"ami://{AMI_USER}:{secret}@127.0.0.1:{simulator.port}", database_url
        )
        print(f"[{label}] starting the server on port {port}", file=sys.stderr)
        server = await stack.enter_async_context(running_server(argv, env))
        await wait_ready(server, port)
        print(f"[{label}] signing in {load.agents} agents", file=sys.stderr)
        async with asyncio.timeout(SIGN_IN_TIMEOUT_S):
            stack.push_async_callback(sockets.close)
            await sockets.connect(await contender.socket_urls(port, load.interfaces))
        traffic = loop.create_task(simulator.run_traffic())
        stack.push_async_callback(_cancel, traffic)

        print(
            f"[{label}] {sockets.count} sockets open; {load.calls_per_s:g} calls/s, "
            f"warming up {load.warmup_s:g} s",
            file=sys.stderr,
        )
        await asyncio.sleep(load.warmup_s)
        usage = await _measure(label, load, clock, server.pid)
        # The last offers' pops are still on their way: wait for them, within reason.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(load.drain_s):
                await clock.drained.wait()
        result = RunResult(
            label=label,
            latencies_s=sorted(clock.latencies_s),
            offers=clock.offers,
            closed_early=sockets.closed_early,
            usage=usage,
        )
    return result


async def _measure(label: str, load: Load, clock: PopClock, pid: int) -> Usage:
    """Time the offers for `load.seconds`, printing progress; return the CPU the window used."""
    clock.measuring = True
    first = last = CpuSample.take(pid)
    end_at = first.at_s + load.seconds
    while (now := time.perf_counter()) < end_at:
        await asyncio.sleep(min(PROGRESS_EVERY_S, end_at - now))
        sample = CpuSample.take(pid)
        share = Usage(last, sample).server_share
        last = sample
        print(
            f"[{label}] {sample.at_s - first.at_s:5.1f}/{load.seconds:g} s  offers {clock.offers:6d}  "
            f"pops {len(clock.latencies_s):6d}  p99 so far "
            f"{percentile_ms(sorted(clock.latencies_s), 0.99):6.1f} ms  server CPU {_share(share)}",
            file=sys.stderr,
        )
    clock.stop()
    return Usage(first, CpuSample.take(pid))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- the report ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1f} ms"


def _ratio(ours: float | None, floor: float | None) -> str:
    if ours is None or floor is None or math.isnan(ours) or math.isnan(floor) or floor <= 0:
        return "–"
    return f"**{ours / floor:.1f}×**"


def table(load: Load, ours: RunResult, floor: RunResult) -> list[str]:
    """The markdown rows for bench/RESULTS.md, headed by the machine and the load."""
    bench = f"screen pop, {load.agents} agents, {load.calls_per_s:g} calls/s"
    lines = [
        f"<!-- {datetime.now(UTC):%Y-%m-%d}; {load.seconds:g} s measured after {load.warmup_s:g} s warm-up, "
        f"ring {load.ring_s:g} s, talk {load.talk_s:g} s, seed {load.seed}; baseline: bench/pop_relay.py "
        f"(AmiClient -> aiohttp WebSocket, no tracker/database/hub); nproc {os.cpu_count()}, "
        f"{cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.machine()} -->",
        "| benchmark | figure | Hotline | baseline | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99 (target ≤ 50 ms)", 0.99), ("max", 1.0)):
        lines.append(
            f"| {bench} | {name} latency | {_ms(ours.p_ms(q))} | {_ms(floor.p_ms(q))} | "
            f"{_ratio(ours.p_ms(q), floor.p_ms(q))} |"
        )
    lines.append(
        f"| {bench} | pops received / expected (missed) | {ours.pops} / {ours.offers} ({ours.missed}) | "
        f"{floor.pops} / {floor.offers} ({floor.missed}) | – |"
    )
    lines.append(
        f"| {bench} | server CPU per pop | {_ms(ours.cpu_ms_per_pop)} | {_ms(floor.cpu_ms_per_pop)} | "
        f"{_ratio(ours.cpu_ms_per_pop, floor.cpu_ms_per_pop)} |"
    )
    return lines


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def notes(results: Sequence[RunResult]) -> list[str]:
    """Side figures that tell whether the run itself can be trusted."""
    return [
        f"{r.label}: server CPU {_share(r.usage.server_share)} of one core, load generator (this "
        f"process) {_share(r.usage.generator_share)}; whole machine {_share(r.usage.machine_busy)} busy "
        f"across its {os.cpu_count()} cores; sockets closed by the server: {r.closed_early}"
        for r in results
    ]


# -- entry point -----------------------------------------------------------------------------


async def run(load: Load, database_url: str | None) -> list[str]:
    """Prepare the database, measure Hotline then the floor, and return the report lines."""
    where = "an embedded PostgreSQL" if database_url is None else "a scratch database"
    print(f"seeding {load.agents} agents and {KNOWN_CALLERS} customers in {where}", file=sys.stderr)
    database = embedded_database() if database_url is None else scratch_database(database_url)
    async with database as url:
        callers = await prepare_database(url, load)
        results = [await run_contender(c, load, url, callers) for c in (HOTLINE, RELAY)]
    ours, floor = results
    verdict = "met" if ours.p_ms(0.99) <= 50 and ours.missed == 0 else "MISSED"
    return [
        *table(load, ours, floor),
        "",
        *notes(results),
        f"target (p99 ≤ 50 ms, no missed pops): {verdict}",
    ]


def main() -> int:
    """Parse the options, run both servers, print the table."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--agents", type=int, default=500, help="agents signed in over WebSocket")
    add_traffic_arguments(cli, drain_what="pops")
    args = cli.parse_args()
    if not 1 <= args.agents <= 10_000 or args.calls_per_s <= 0 or args.seconds <= 0:
        cli.error("--agents must be within 1..10000, --calls-per-s and --seconds above 0")
    return print_report(run(traffic_load(args, args.agents), args.database_url))


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


def print_report(report: Coroutine[object, None, list[str]]) -> int:
    """Run a benchmark and print its table; Ctrl-C stops the servers and exits 130."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        lines = asyncio.run(report)
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
