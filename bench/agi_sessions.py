"""FastAGI sessions: 1,000 concurrent simulated IVR calls against Hotline's FastAGI server and panoramisk 1.4's.

A separate process plays Asterisk: it opens every call's connection at once, sends the
recorded environment block of `agi_4_ivr_to_queue.txt` and answers each command with the reply
Asterisk recorded for it (`200 result=0 endpos=8000` for STREAM FILE, and so on), then sends
`HANGUP` and closes when the server ends the session. Both servers run the same IVR hand-off
per call (ANSWER, the Linkedid, three prompts, a menu digit, QUEUE_PRIO, the customer and the
queue: 9 commands) in this process. A command's round trip is timed in the server from
writing its line to holding its parsed reply, as an IVR waits for it. The simulated Asterisk is
written as protocol callbacks so that it costs no more CPU per call than the servers, and both
sides' CPU per call is reported: a round trip includes its turn. Each server gets one uncounted
warm-up round, the rounds alternate which server goes first, and a full garbage collection
before each round starts both from the same heap.
Run: `.venv/bin/python bench/agi_sessions.py [--calls N] [--rounds N]`.

Baseline: panoramisk 1.4's FastAGI `Application` with the same handler, sending the same lines
through `Request.send_command` (which parses replies with its `parse_agi_result`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import cpu_model
from panoramisk.fast_agi import Application, Request

from cti.simulator.transcript import FROM_ASTERISK_TO_AGI, reply_to
from ivr import agi_protocol as agi
from ivr.fastagi import AgiSession, FastAgiServer, FastAgiSettings
from tests.recordings import records

TRANSCRIPT = "agi_4_ivr_to_queue.txt"
COMMANDS = [
    agi.answer(),
    agi.get_full_variable("${CHANNEL(linkedid)}"),
    agi.stream_file("hotline/welcome"),
    agi.stream_file("hotline/main-menu", "0123456789"),
    agi.wait_for_digit(5000),
    agi.stream_file("hotline/connecting-agent"),
    agi.set_variable("QUEUE_PRIO", 10),
    agi.set_variable("__HOTLINE_CUSTOMER", 42),
    agi.set_variable("HOTLINE_QUEUE", "vip"),
]


def recorded(command: bytes) -> bytes:
    """What Asterisk answered to `command` in one of the recordings."""
    for name in ("agi_4_ivr_to_queue.txt", "agi_1_command_tour.txt"):
        with contextlib.suppress(LookupError):
            return reply_to(records(name), command)
    raise KeyError(command)


# The recorded reply for each kind of command (the caller presses 5 at the menu: agi_1).
REPLIES = {
    "ANSWER": recorded(b"ANSWER\n"),
    "GET FULL VARIABLE": recorded(b'GET FULL VARIABLE "${CALLERID(num)}/${CALLERID(name)}/${CHANNEL}"\n'),
    "STREAM FILE": recorded(b'STREAM FILE /srv/asterisk-lab/sounds/lab-silence "0123456789#*"\n'),
    "WAIT FOR DIGIT": recorded(b"WAIT FOR DIGIT 5000\n"),
    "SET VARIABLE": recorded(b"SET VARIABLE QUEUE_PRIO 10\n"),
}
_REPLY_BY_VERB = [(verb.encode(), reply) for verb, reply in REPLIES.items()]
ENVIRONMENT = next(r.data for r in records(TRANSCRIPT) if r.direction == FROM_ASTERISK_TO_AGI)
HANGUP = b"HANGUP\n"


# ------------------------------------------------------------------------------ simulated Asterisk


class _Call(asyncio.Protocol):
    """One simulated call, as callbacks rather than a coroutine so that the load generator stays
    lighter than the servers it loads: environment block, each command's recorded reply, HANGUP."""

    def __init__(self, ended: asyncio.Future[None]) -> None:
        self._ended = ended
        self._partial = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(ENVIRONMENT)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._transport.write(next(reply for verb, reply in _REPLY_BY_VERB if line.startswith(verb)))

    def eof_received(self) -> None:
        # Asterisk's answer to the server ending the session (agi_3); panoramisk closes outright.
        assert self._transport is not None
        self._transport.write(HANGUP)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._ended.done():
            self._ended.set_result(None)


async def _asterisk(port: int, calls: int) -> None:
    loop = asyncio.get_running_loop()
    ended = [loop.create_future() for _ in range(calls)]
    cpu_started = time.process_time()
    await asyncio.gather(*(loop.create_connection(lambda e=e: _Call(e), "127.0.0.1", port) for e in ended))
    await asyncio.gather(*ended)
    # Its own CPU time tells whether the load generator, not the server, set the pace.
    print(f"{time.process_time() - cpu_started:.6f}", flush=True)


# ------------------------------------------------------------------------------ the two servers

Latencies = list[float]


def hotline_handler(latencies: Latencies) -> Callable[[AgiSession], Awaitable[None]]:
    """The IVR hand-off through Hotline's session, timing every command."""

    async def handle(session: AgiSession) -> None:
        for command in COMMANDS:
            started = time.perf_counter()
            await session.run(command)
            latencies.append(time.perf_counter() - started)

    return handle


def panoramisk_handler(latencies: Latencies) -> Callable[[Request], Awaitable[None]]:
    """The same hand-off through panoramisk's Request.send_command."""
    lines = [c.text for c in COMMANDS]

    async def handle(request: Request) -> None:
        for line in lines:
            started = time.perf_counter()
            await request.send_command(line)
            latencies.append(time.perf_counter() - started)

    return handle


@dataclass
class Round:
    """One round's raw measurements."""

    latencies: Latencies
    wall_s: float
    server_cpu_s: float
    peer_cpu_s: float
    full_collections: int


async def run_round(kind: str, calls: int) -> Round:
    """One round of `calls` concurrent calls against one server."""
    latencies: Latencies = []
    if kind == "hotline":
        server = FastAgiServer(
            FastAgiSettings(port=0, max_sessions=calls * 2, backlog=calls * 2),
            {"ivr": hotline_handler(latencies)},
        )
        await server.start()
        port = server.port
        close: Callable[[], Awaitable[None]] = server.close
    else:
        app = Application()
        app.add_route("ivr", panoramisk_handler(latencies))
        plain = await asyncio.start_server(app.handler, "127.0.0.1", 0, backlog=calls * 2)
        port = plain.sockets[0].getsockname()[1]

        async def close() -> None:
            plain.close()
            await plain.wait_closed()

    # The simulated Asterisk says when it has started; the clock runs from its go to its end.
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--asterisk",
        str(port),
        str(calls),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert peer.stdin is not None
    assert peer.stdout is not None
    await peer.stdout.readline()
    # Both servers start from the same heap: a full collection left over from the previous
    # round would otherwise land in one server's figures by chance.
    gc.collect()
    full_collections = gc.get_stats()[2]["collections"]
    started, cpu_started = time.perf_counter(), time.process_time()
    peer.stdin.write(b"go\n")
    peer_cpu_s = float(await peer.stdout.readline() or "nan")
    await peer.wait()
    wall = time.perf_counter() - started
    if kind == "hotline":
        # Let the last sessions finish their close handshake rather than cancel them; the
        # server exposes a count, not an event, and this wait is outside the figures.
        while server.sessions_in_progress:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    server_cpu_s = time.process_time() - cpu_started
    full_collections = gc.get_stats()[2]["collections"] - full_collections
    await close()
    if peer.returncode != 0 or len(latencies) != calls * len(COMMANDS):
        raise SystemExit(
            f"{kind}: {len(latencies)} round trips of {calls * len(COMMANDS)} (peer exit {peer.returncode})"
        )
    return Round(latencies, wall, server_cpu_s, peer_cpu_s, full_collections)


def quantile(values: Latencies, q: float) -> float:
    """The q-quantile (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Figures = dict[str, float]
FIGURES = (("p50 round trip", 0.5), ("p99 round trip", 0.99), ("max round trip", 1.0))


def figures(measured: Round, calls: int) -> Figures:
    """One round's figures: round-trip quantiles (ms), mean (ms), calls per second, CPU per call."""
    found = {label: quantile(measured.latencies, q) * 1000 for label, q in FIGURES}
    found["mean round trip"] = statistics.fmean(measured.latencies) * 1000
    found["calls per second (whole round)"] = calls / measured.wall_s
    found["server CPU per call"] = measured.server_cpu_s / calls * 1e6
    found["simulated Asterisk CPU per call"] = measured.peer_cpu_s / calls * 1e6
    found["full GC collections in the round"] = measured.full_collections
    return found


async def measure(calls: int, rounds: int) -> dict[str, list[Figures]]:
    """Run the two servers `rounds` times each, after one uncounted warm-up round (one round proves little)."""
    runs: dict[str, list[Figures]] = {"hotline": [], "panoramisk": []}
    # A first round pays for fresh memory and cold code paths; it is run for both and not counted,
    # so that the server measured first is not the one that pays.
    for kind in runs:
        await run_round(kind, calls)
    for round_number in range(rounds):
        # Alternate which server goes first, so neither always follows the other's leftovers.
        for kind in sorted(runs, reverse=round_number % 2 == 1):
            runs[kind].append(figures(await run_round(kind, calls), calls))
    return runs


def report(runs: dict[str, list[Figures]], calls: int, rounds: int) -> str:
    """The markdown table for bench/RESULTS.md (medians of the rounds), headed by the machine."""
    nproc = len(os.sched_getaffinity(0))
    rows = [
        f"<!-- {time.strftime('%Y-%m-%d')}; {calls} concurrent calls x {len(COMMANDS)} commands; median of {rounds} "
        f"alternating rounds (range in brackets); simulated Asterisk in its own process; nproc {nproc}, "
        f"{cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.machine()} -->",
        "| figure | Hotline FastAgiServer | panoramisk 1.4 | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label in runs["hotline"][0]:
        ours = [r[label] for r in runs["hotline"]]
        theirs = [r[label] for r in runs["panoramisk"]]
        a, b = statistics.median(ours), statistics.median(theirs)
        if label.startswith("calls"):
            shown = f"| {label} | {a:,.0f} | {b:,.0f} | **{a / b:.2f}×** |"
        elif label.startswith("full GC"):
            shown = f"| {label} | {a:.0f} ({min(ours):.0f}–{max(ours):.0f}) | {b:.0f} ({min(theirs):.0f}–{max(theirs):.0f}) | |"
        elif "CPU" in label:
            shown = f"| {label} | {a:.0f} µs | {b:.0f} µs | **{a / b:.2f}×** |"
        else:
            shown = (
                f"| {label} | {a:.1f} ms ({min(ours):.1f}–{max(ours):.1f}) "
                f"| {b:.1f} ms ({min(theirs):.1f}–{max(theirs):.1f}) | **{a / b:.2f}×** |"
            )
        rows.append(shown)
    return "\n".join(rows)


def main() -> int:
    """Run the benchmark (or, with --asterisk, be the simulated Asterisk)."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--calls", type=int, default=1000)
    cli.add_argument("--rounds", type=int, default=5)
    cli.add_argument("--asterisk", nargs=2, type=int, metavar=("PORT", "CALLS"), help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.asterisk:
        print("ready", flush=True)
        sys.stdin.readline()
        asyncio.run(_asterisk(*args.asterisk))
        return 0
    # Sessions ending is routine; keep the log quiet so the figures are about the protocol.
    logging.basicConfig(level=logging.WARNING)
    runs = asyncio.run(measure(args.calls, args.rounds))
    print(report(runs, args.calls, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
