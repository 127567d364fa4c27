"""AMI ingest: our AmiParser + CallTracker against panoramisk 1.4's parser, on recorded traffic.

Builds one long AMI byte stream from the real Asterisk 22 recordings (every call scenario,
repeated with Uniqueids/Linkedids renamed so each repetition is a new set of calls), then times
both sides over the same bytes, cut into socket-read-sized chunks, best of N runs, in this
process. Run: `.venv/bin/python bench/ami_ingest.py [--messages N] [--runs N]`.

The baseline is driven exactly as panoramisk's AMIProtocol.data_received runs on a live
connection (decode, split on blank lines, Message.from_line, handle_message, dispatch to the
manager); only the socket and the manager's callback matching are left out. Our side does more
work than that: it also tracks every call and produces the domain events.
"""

from __future__ import annotations

import argparse
import gc
import platform
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import cpu_model
from panoramisk.ami_protocol import AMIProtocol

from cti.ami_protocol import AmiParser, MessageKind
from cti.calls import CallTracker
from tests.recordings import records

# Recordings with queue calls; conn 1 is the monitoring AMI session in each.
SCENARIOS = [
    "ami_b_inbound_answered.txt",
    "ami_c_abandon.txt",
    "ami_c2_queue_timeout.txt",
    "ami_c3_member_busy.txt",
    "ami_e_list_actions.txt",
    "ami_g_redirect.txt",
    "ami_g2_blindtransfer.txt",
    "ami_i_ringall.txt",
    "ami_j_concurrent.txt",
    "ami_k_restart.txt",
    "ami_l_channelvars.txt",
    "ami_m_ivr_to_queue.txt",
]
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# A TCP segment on a LAN, a small read, and asyncio's StreamReader limit (64 KiB).
CHUNK_SIZES = (1460, 16 * 1024, 64 * 1024)
UNIQUEID = re.compile(rb"\b17953(\d{5}\.\d+)")


def one_pass() -> list[bytes]:
    """Every message Asterisk sent on conn 1 of each scenario, without banner and Shutdown."""
    messages: list[bytes] = []
    for name in SCENARIOS:
        for r in records(name):
            if r.conn != 1 or r.direction != "ASTERISK->CLIENT" or r.data == BANNER:
                continue
            # Shutdown would make panoramisk drop its connection: keep both sides streaming.
            if r.data.startswith(b"Event: Shutdown\r\n"):
                continue
            messages.append(r.data)
    return messages


def build_messages(target_messages: int) -> tuple[list[bytes], int]:
    """The banner, then enough renamed repetitions, one message each; and the repetitions."""
    base = one_pass()
    repetitions = max(1, -(-target_messages // len(base)))
    messages = [BANNER]
    for k in range(repetitions):
        # Same call flows, new ids: `1795392158.1` becomes `<20000+k>92158.1`.
        prefix = b"%d\\1" % (20000 + k)
        messages.extend(UNIQUEID.sub(prefix, m) for m in base)
    return messages, repetitions


def chunks(stream: bytes, size: int) -> list[bytes]:
    """The stream cut into reads of `size` bytes, wherever that falls."""
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def run_hotline(pieces: list[bytes]) -> int:
    """Parse and track, as the AMI client's read loop and CallPipeline do; returns call events."""
    parser = AmiParser()
    tracker = CallTracker()
    feed = parser.feed
    track = tracker.feed
    clock = time.time
    call_events = 0
    for piece in pieces:
        for message in feed(piece):
            call_events += len(track(message, clock()))
    return call_events


def count_ami_events(stream: bytes) -> int:
    """How many events (not responses, not the banner) the stream holds, by our parser."""
    return sum(1 for m in AmiParser().feed(stream) if m.kind is MessageKind.EVENT)


class _NullTransport:
    """The transport panoramisk's protocol expects; nothing is ever sent on it here."""

    def write(self, data: bytes) -> None:
        """Panoramisk never writes while only receiving."""

    def close(self) -> None:
        """Nothing to close without a socket."""


class _CountingManager:
    """Stands in for panoramisk's Manager: receives every dispatched event."""

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, event: object) -> None:
        self.events += 1


def run_panoramisk(pieces: list[bytes]) -> int:
    """Feed panoramisk's AMIProtocol as its event loop would; returns the events it dispatched."""
    protocol = AMIProtocol()
    protocol.connection_made(_NullTransport())
    manager = _CountingManager()
    protocol.factory = manager
    protocol.encoding = "utf8"  # what panoramisk's Manager sets (its default is ascii)
    receive = protocol.data_received
    for piece in pieces:
        receive(piece)
    return manager.events


def race(runs: int, pieces: list[bytes]) -> tuple[float, int, float, int]:
    """Best wall time of each side over `runs` rounds, alternating so both see the same load."""
    ours_s = theirs_s = float("inf")
    call_events = their_events = 0
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        call_events = run_hotline(pieces)
        ours_s = min(ours_s, time.perf_counter() - started)
        gc.collect()
        started = time.perf_counter()
        their_events = run_panoramisk(pieces)
        theirs_s = min(theirs_s, time.perf_counter() - started)
    return ours_s, call_events, theirs_s, their_events


def rows(args: argparse.Namespace) -> Iterator[str]:
    """The markdown table: one row per way of cutting the same bytes into reads."""
    written, repetitions = build_messages(args.messages)
    stream = b"".join(written)
    messages = len(written) - 1
    yield (
        f"<!-- {messages} AMI messages ({len(stream) / 1e6:.1f} MB, {repetitions} passes over "
        f"{len(SCENARIOS)} recordings), best of {args.runs}; Python {platform.python_version()}, "
        f"{cpu_model()}, {platform.system()} {platform.machine()} -->"
    )
    yield "| reads of | Hotline AmiParser + CallTracker | panoramisk 1.4 parser | ratio |"
    yield "|---|---:|---:|---:|"
    ami_events = count_ami_events(stream)
    # One message per read is what a quiet PBX gives (Asterisk writes each message whole);
    # under load the kernel coalesces them and reads come back full.
    cuts = [("one message (as written)", written)]
    cuts += [(f"{size} B", chunks(stream, size)) for size in CHUNK_SIZES]
    for label, pieces in cuts:
        ours_s, call_events, theirs_s, their_events = race(args.runs, pieces)
        if their_events != ami_events:
            raise SystemExit(f"event counts differ: ours {ami_events}, panoramisk {their_events}")
        ours_rate = messages / ours_s
        theirs_rate = messages / theirs_s
        print(
            f"{label:>24}: ours {ours_s:.3f} s, panoramisk {theirs_s:.3f} s, "
            f"{ami_events} AMI events, {call_events} call events",
            file=sys.stderr,
        )
        yield (
            f"| {label} | {ours_rate:,.0f} msg/s | {theirs_rate:,.0f} msg/s | "
            f"**{ours_rate / theirs_rate:.1f}×** |"
        )


def main() -> None:
    """Print the markdown rows for bench/RESULTS.md."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--messages", type=int, default=200_000, help="AMI messages in the stream")
    cli.add_argument("--runs", type=int, default=5, help="best of this many runs per side")
    for row in rows(cli.parse_args()):
        print(row)


if __name__ == "__main__":
    main()
