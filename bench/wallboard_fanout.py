"""Wallboard fan-out: from AgentConnect leaving the PBX to the agent_state arriving on every screen.

The issue's figure: 2,000 connected sockets (agents and wallboards) while the PBX simulator plays
50 calls/s into Hotline: p99 event-to-screen latency and server CPU per event. The server runs in
its own process (`hotline serve`); the simulator and every socket share this process, so both
ends of a measurement read the same `time.perf_counter()`. A latency is the time between the
simulator writing an AgentConnect frame and the `agent_state` frame saying that agent is on a
call arriving on a socket that must show it: the agent's own desktop and every wallboard.
Deliveries due in the measuring window that never arrive are counted as missed.

The baseline, run with the same traffic (same seed) in the same run, is `bench/wallboard_relay.py`:
our AMI client and one bare aiohttp frame per AgentConnect to the same sockets, with no
agent-state tracker, no queue figures, no resumable streams. That is the floor of any live
wallboard (AMI transport, parse, fan-out).

Run: `.venv/bin/python bench/wallboard_fanout.py [--sockets 2000] [--wallboards 100]
[--calls-per-s 50] [--seconds 20] [--database-url postgresql://…]` (the database as
bench/rig.py gets it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
from argon2 import PasswordHasher
from harness import CpuSample, Usage, cpu_model, ms, percentile_ms, print_report, ratio, share
from rig import (
    AMI_USER,
    LOGIN_CONCURRENCY,
    PASSWORD,
    PROGRESS_EVERY_S,
    SIGN_IN_TIMEOUT_S,
    BenchSockets,
    Load,
    add_traffic_arguments,
    embedded_database,
    free_port,
    hotline_command,
    prepare_database,
    relay_command,
    running_server,
    scratch_database,
    simulator_for,
    traffic_load,
    username,
    wait_ready,
)

from agents import AccountService, Role
from agents.store import AccountStore
from cti.ami_protocol import AmiMessage
from cti.calls import normalise_interface
from hotline.db import create_pool

FILES_PER_SOCKET = 2  # this process holds the client end, the server process its own


def raise_open_file_limit(sockets: int) -> int:
    """Raise this process's (and its children's) open-file limit to fit the sockets; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets * FILES_PER_SOCKET + 1024
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft < sockets + 256:
        raise SystemExit(
            f"the open-file limit ({soft}) is too low for {sockets} sockets; raise the hard limit"
        )
    return soft


def board_name(index: int) -> str:
    """The seeded supervisor account of wallboard `index`."""
    return f"board{index:04d}"


class FanoutClock:
    """Pairs each AgentConnect the simulator writes with the agent_state frames it causes."""

    def __init__(self, wallboards: int) -> None:
        self.wallboards = wallboards
        self.measuring = False
        self.events = 0  # AgentConnects in the window
        self.expected = 0  # deliveries they are owed
        self.latencies_s: list[float] = []
        # interface -> (sent at, screens still to see it); one open call per agent at a time.
        self._pending: dict[str, list[float]] = {}
        self.drained = asyncio.Event()

    def on_frame_sent(self, name: str, frame: AmiMessage | bytes, sent_at: float) -> None:
        """Simulator callback: start the clock of every AgentConnect written in the window."""
        if name != "AgentConnect" or not self.measuring or not isinstance(frame, bytes):
            return
        start = frame.index(b"\r\nInterface: ") + 13
        interface = normalise_interface(frame[start : frame.index(b"\r\n", start)].decode())
        self._pending[interface] = [sent_at, float(self.wallboards + 1)]
        self.events += 1
        self.expected += self.wallboards + 1
        self.drained.clear()

    def on_screen(self, interface: str, received_at: float) -> None:
        """A socket showed `interface` on a call."""
        pending = self._pending.get(interface)
        if pending is None:
            return
        self.latencies_s.append(received_at - pending[0])
        pending[1] -= 1
        if pending[1] <= 0:
            del self._pending[interface]
            if not self._pending and not self.measuring:
                self.drained.set()

    def stop(self) -> None:
        """End the window; deliveries of AgentConnects already sent are still timed."""
        self.measuring = False
        if not self._pending:
            self.drained.set()


def on_call_timer(clock: FanoutClock) -> Callable[[str, str, float], None]:
    """The frame handler of every screen: time the on-call states, skip the rest unparsed."""

    def on_frame(raw: str, owner: str, received_at: float) -> None:
        if '"on_call"' not in raw or '"agent_state"' not in raw:
            return
        data = json.loads(raw)["data"]
        if data.get("state") == "on_call":
            clock.on_screen(data["interface"], received_at)

    return on_frame


@dataclass(frozen=True)
class Fanout:
    """The traffic and the screens."""

    load: Load  # agents = agent sockets
    wallboards: int

    @property
    def sockets(self) -> int:
        """All sockets: agents' desktops and wallboards."""
        return self.load.agents + self.wallboards


@dataclass(frozen=True)
class Result:
    """What one server did with the load."""

    label: str
    latencies_s: list[float]  # sorted
    events: int
    expected: int
    frames: int
    closed_early: int
    usage: Usage

    def p_ms(self, q: float) -> float:
        """The q-quantile latency in milliseconds."""
        return percentile_ms(self.latencies_s, q)

    @property
    def missed(self) -> int:
        """Deliveries owed in the window that never arrived."""
        return self.expected - len(self.latencies_s)

    @property
    def cpu_ms_per_event(self) -> float | None:
        """Server CPU over the window per AgentConnect in it: everything the traffic costs, per event."""
        if self.usage.server_cpu_s is None or not self.events:
            return None
        return self.usage.server_cpu_s / self.events * 1000


async def seed_wallboards(url: str, count: int) -> None:
    """Supervisor accounts for the wallboards."""
    pool = await create_pool(url)
    try:
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        accounts = AccountService(AccountStore(pool), token_ttl_s=3600, hasher=hasher)
        async with asyncio.TaskGroup() as group:
            for i in range(count):
                group.create_task(
                    accounts.create_agent(
                        username=board_name(i),
                        display_name=f"Wallboard {i}",
                        password=PASSWORD,
                        role=Role.SUPERVISOR,
                        interfaces=[],
                    )
                )
    finally:
        await pool.close()


async def hotline_urls(port: int, fanout: Fanout) -> list[tuple[str, str]]:
    """Sign every agent and wallboard in through POST /api/auth/login."""
    semaphore = asyncio.Semaphore(LOGIN_CONCURRENCY)
    names = [username(i) for i in fanout.load.interfaces] + [board_name(i) for i in range(fanout.wallboards)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:

        async def sign_in(name: str) -> tuple[str, str]:
            body = {"username": name, "password": PASSWORD}
            async with semaphore, http.post(f"http://127.0.0.1:{port}/api/auth/login", json=body) as answer:
                answer.raise_for_status()
                token = (await answer.json())["token"]
            return name, f"ws://127.0.0.1:{port}/ws?{urlencode({'token': token})}"

        return list(await asyncio.gather(*(sign_in(n) for n in names)))


async def relay_urls(port: int, fanout: Fanout) -> list[tuple[str, str]]:
    """Agents by interface; wallboards with an empty one."""
    agents = [(i, f"ws://127.0.0.1:{port}/ws?{urlencode({'interface': i})}") for i in fanout.load.interfaces]
    boards = [(board_name(i), f"ws://127.0.0.1:{port}/ws?interface=") for i in range(fanout.wallboards)]
    return agents + boards


def floor_command(port: int, ami_url: str, database_url: str) -> tuple[list[str], dict[str, str]]:
    """The floor's command line; it never touches the database."""
    return relay_command("wallboard_relay.py", port, ami_url)


async def run_contender(
    label: str, fanout: Fanout, database_url: str, callers: tuple[tuple[str, str], ...]
) -> Result:
    """Start a simulator and the server, connect every screen, play the traffic and time the fan-out."""
    load = fanout.load
    secret = secrets.token_urlsafe(16)
    simulator = simulator_for(load, secret, callers)
    clock = FanoutClock(fanout.wallboards)
    screens = BenchSockets(on_call_timer(clock), open_timeout_s=20.0)
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        await simulator.start()
        stack.push_async_callback(simulator.close)
        simulator.on_frame_sent(clock.on_frame_sent)
        port = free_port()
        ami_url = f"ami://{AMI_USER}:{secret}@127.0.0.1:{simulator.port}"
        argv, env = (hotline_command if label == "Hotline" else floor_command)(port, ami_url, database_url)
        print(f"[{label}] starting the server on port {port}", file=sys.stderr)
        server = await stack.enter_async_context(running_server(argv, env))
        await wait_ready(server, port)
        print(f"[{label}] connecting {fanout.sockets} sockets", file=sys.stderr)
        async with asyncio.timeout(SIGN_IN_TIMEOUT_S * 2):
            stack.push_async_callback(screens.close)
            urls = await (hotline_urls if label == "Hotline" else relay_urls)(port, fanout)
            await screens.connect(urls)
        traffic = loop.create_task(simulator.run_traffic())

        async def stop_traffic() -> None:
            traffic.cancel()
            await asyncio.gather(traffic, return_exceptions=True)

        stack.push_async_callback(stop_traffic)
        print(f"[{label}] {screens.count} sockets open; warming up {load.warmup_s:g} s", file=sys.stderr)
        await asyncio.sleep(load.warmup_s)
        clock.measuring = True
        first = last = CpuSample.take(server.pid)
        end_at = first.at_s + load.seconds
        while (now := time.perf_counter()) < end_at:
            await asyncio.sleep(min(PROGRESS_EVERY_S, end_at - now))
            sample = CpuSample.take(server.pid)
            server_share = Usage(last, sample).server_share
            last = sample
            print(
                f"[{label}] {sample.at_s - first.at_s:5.1f}/{load.seconds:g} s  events {clock.events:6d}  "
                f"deliveries {len(clock.latencies_s):8d}/{clock.expected:8d}  p99 so far "
                f"{percentile_ms(sorted(clock.latencies_s), 0.99):7.1f} ms  server CPU {share(server_share)}",
                file=sys.stderr,
            )
        clock.stop()
        usage = Usage(first, CpuSample.take(server.pid))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(load.drain_s):
                await clock.drained.wait()
        return Result(
            label,
            sorted(clock.latencies_s),
            clock.events,
            clock.expected,
            screens.frames,
            screens.closed_early,
            usage,
        )


def table(fanout: Fanout, ours: Result, floor: Result) -> list[str]:
    """The markdown rows for bench/RESULTS.md, headed by the machine and the load."""
    load = fanout.load
    bench = f"wallboard fan-out, {fanout.sockets} sockets ({fanout.wallboards} wallboards), {load.calls_per_s:g} calls/s"
    lines = [
        f"<!-- {datetime.now(UTC):%Y-%m-%d}; {load.seconds:g} s measured after {load.warmup_s:g} s warm-up, "
        f"ring {load.ring_s:g} s, talk {load.talk_s:g} s, seed {load.seed}; baseline: bench/wallboard_relay.py "
        f"(AmiClient -> one bare frame per AgentConnect to the agent and every wallboard); nproc {os.cpu_count()}, "
        f"{cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.machine()} -->",
        "| benchmark | figure | Hotline | baseline | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        lines.append(
            f"| {bench} | {name} event-to-screen latency | {ms(ours.p_ms(q))} | {ms(floor.p_ms(q))} | "
            f"{ratio(ours.p_ms(q), floor.p_ms(q))} |"
        )
    lines.append(
        f"| {bench} | deliveries received / expected (missed) | {len(ours.latencies_s)} / {ours.expected} "
        f"({ours.missed}) | {len(floor.latencies_s)} / {floor.expected} ({floor.missed}) | – |"
    )
    lines.append(
        f"| {bench} | server CPU per AgentConnect event | {ms(ours.cpu_ms_per_event)} | "
        f"{ms(floor.cpu_ms_per_event)} | {ratio(ours.cpu_ms_per_event, floor.cpu_ms_per_event)} |"
    )
    return lines


def notes(results: Sequence[Result]) -> list[str]:
    """Side figures that tell whether the run itself can be trusted."""
    return [
        f"{r.label}: {r.events} AgentConnect events in the window, {r.frames} frames read in all; server CPU "
        f"{share(r.usage.server_share)} of one core, load generator (this process) "
        f"{share(r.usage.generator_share)}; whole machine {share(r.usage.machine_busy)} busy across its "
        f"{os.cpu_count()} cores; sockets closed by the server: {r.closed_early}"
        for r in results
    ]


async def run(fanout: Fanout, database_url: str | None) -> list[str]:
    """Prepare the database, measure Hotline then the floor, and return the report lines."""
    where = "an embedded PostgreSQL" if database_url is None else "a scratch database"
    print(
        f"seeding {fanout.load.agents} agents and {fanout.wallboards} wallboards in {where}", file=sys.stderr
    )
    database = embedded_database() if database_url is None else scratch_database(database_url)
    async with database as url:
        callers = await prepare_database(url, fanout.load)
        await seed_wallboards(url, fanout.wallboards)
        results = [await run_contender(label, fanout, url, callers) for label in ("Hotline", "floor")]
    ours, floor = results
    return [*table(fanout, ours, floor), "", *notes(results)]


def main() -> int:
    """Parse the options, run both servers, print the table."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument(
        "--sockets", type=int, default=2000, help="sockets in all: agents' desktops and wallboards"
    )
    cli.add_argument("--wallboards", type=int, default=100, help="of which wallboards (supervisors)")
    add_traffic_arguments(cli, drain_what="deliveries")
    args = cli.parse_args()
    if not 0 < args.wallboards < args.sockets <= 20_000 or args.calls_per_s <= 0 or args.seconds <= 0:
        cli.error("need 0 < --wallboards < --sockets <= 20000, and --calls-per-s and --seconds above 0")
    raise_open_file_limit(args.sockets)
    load = traffic_load(args, args.sockets - args.wallboards)
    return print_report(run(Fanout(load, args.wallboards), args.database_url))


if __name__ == "__main__":
    sys.exit(main())
