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
import os
import platform
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
from harness import CpuSample, Usage, cpu_model, ms, percentile_ms, print_report, ratio, share
from rig import (
    AMI_USER,
    KNOWN_CALLERS,
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

from cti.ami_protocol import AmiMessage
from cti.calls import normalise_interface

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


# -- the servers under test ------------------------------------------------------------------


def _relay_command(port: int, ami_url: str, database_url: str) -> tuple[list[str], dict[str, str]]:
    """The floor's command line; it never touches the database."""
    return relay_command("pop_relay.py", port, ami_url)


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


HOTLINE = Contender("Hotline", hotline_command, _hotline_sockets)
RELAY = Contender("floor", _relay_command, _relay_sockets)


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
        server_share = Usage(last, sample).server_share
        last = sample
        print(
            f"[{label}] {sample.at_s - first.at_s:5.1f}/{load.seconds:g} s  offers {clock.offers:6d}  "
            f"pops {len(clock.latencies_s):6d}  p99 so far "
            f"{percentile_ms(sorted(clock.latencies_s), 0.99):6.1f} ms  server CPU {share(server_share)}",
            file=sys.stderr,
        )
    clock.stop()
    return Usage(first, CpuSample.take(pid))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- the report ------------------------------------------------------------------------------


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
            f"| {bench} | {name} latency | {ms(ours.p_ms(q))} | {ms(floor.p_ms(q))} | "
            f"{ratio(ours.p_ms(q), floor.p_ms(q))} |"
        )
    lines.append(
        f"| {bench} | pops received / expected (missed) | {ours.pops} / {ours.offers} ({ours.missed}) | "
        f"{floor.pops} / {floor.offers} ({floor.missed}) | – |"
    )
    lines.append(
        f"| {bench} | server CPU per pop | {ms(ours.cpu_ms_per_pop)} | {ms(floor.cpu_ms_per_pop)} | "
        f"{ratio(ours.cpu_ms_per_pop, floor.cpu_ms_per_pop)} |"
    )
    return lines


def notes(results: Sequence[RunResult]) -> list[str]:
    """Side figures that tell whether the run itself can be trusted."""
    return [
        f"{r.label}: server CPU {share(r.usage.server_share)} of one core, load generator (this "
        f"process) {share(r.usage.generator_share)}; whole machine {share(r.usage.machine_busy)} busy "
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


if __name__ == "__main__":
    sys.exit(main())
