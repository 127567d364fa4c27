"""The one reader of the lab's recordings ("labrec transcript v1"), for the simulator and the tests.

A transcript is a `#` header, then records: `@@ <seq> <DIRECTION> conn=<n> t=<s> len=<N>`, the N
bytes as they were on the wire, and one `\\n` separator (../shared/fixtures/asterisk/README.md).
The simulator reads its packaged copies (`cti/simulator/recordings/`, so `make run` needs nothing
beside the clone); the tests and the fake peers read ../shared/fixtures/asterisk through
tests/recordings.py, with this same parser.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "AGI_SERVER_CLOSED",
    "ASTERISK_CLOSED",
    "FROM_AGI_SERVER",
    "FROM_ASTERISK",
    "FROM_ASTERISK_TO_AGI",
    "FROM_CLIENT",
    "NOTE",
    "Record",
    "packaged",
    "parse",
    "reply_to",
    "sent",
]

FROM_ASTERISK = "ASTERISK->CLIENT"  # AMI, Asterisk to the client
FROM_CLIENT = "CLIENT->ASTERISK"  # AMI, the client's actions
FROM_ASTERISK_TO_AGI = "ASTERISK->AGI"  # FastAGI, Asterisk to the AGI server
FROM_AGI_SERVER = "AGI->ASTERISK"  # FastAGI, the server's commands
ASTERISK_CLOSED = "ASTERISK-CLOSED"  # Asterisk closed the connection
AGI_SERVER_CLOSED = "AGI-CLOSED"  # the FastAGI server closed or half-closed it
NOTE = "NOTE"  # the recorder's annotation, never on the wire


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a transcript: who sent it, on which connection, when, and the raw bytes."""

    seq: int
    direction: str
    conn: int
    t: float
    data: bytes


def parse(data: bytes) -> list[Record]:
    """Every record of a transcript's bytes, in order."""
    out: list[Record] = []
    i = 0
    while data.startswith(b"#", i):
        i = data.index(b"\n", i) + 1
    while i < len(data):
        j = data.index(b"\n", i)
        _, seq, direction, conn, t, length = data[i:j].decode("ascii").split(" ")
        n = int(length.removeprefix("len="))
        out.append(
            Record(
                int(seq),
                direction,
                int(conn.removeprefix("conn=")),
                float(t.removeprefix("t=")),
                data[j + 1 : j + 1 + n],
            )
        )
        i = j + 1 + n + 1  # the '\n' separator is not part of the data
    return out


def packaged(name: str) -> list[Record]:
    """The records of one of the simulator's packaged recordings (`cti/simulator/recordings/`)."""
    return parse(resources.files("cti.simulator.recordings").joinpath(name).read_bytes())


def sent(records: Iterable[Record], direction: str = FROM_ASTERISK, conn: int = 1) -> list[bytes]:
    """What one side sent on one connection, one record each (for AMI: one message each)."""
    return [r.data for r in records if r.direction == direction and r.conn == conn]


def reply_to(records: Iterable[Record], command: bytes) -> bytes:
    """What Asterisk answered to the first recorded FastAGI `command` (the record right after it)."""
    agi = [r for r in records if r.direction in (FROM_ASTERISK_TO_AGI, FROM_AGI_SERVER)]
    for record, following in itertools.pairwise(agi):
        if record.direction == FROM_AGI_SERVER and record.data == command:
            return following.data
    raise LookupError(f"{command!r} is not a recorded FastAGI command")
