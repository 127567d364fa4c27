"""Reader for the byte-exact Asterisk recordings in ../shared/fixtures/asterisk (labrec transcript v1)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(
    os.environ.get(
        "HOTLINE_FIXTURES", Path(__file__).resolve().parents[1].parent / "shared/fixtures/asterisk"
    )
)


@dataclass(frozen=True)
class Record:
    """One record of a transcript: who sent it, on which connection, when, and the raw bytes."""

    seq: int
    direction: str
    conn: int
    t: float
    data: bytes


def records(name: str) -> list[Record]:
    """Every record of the named transcript, in order."""
    data = (FIXTURES / name).read_bytes()
    out: list[Record] = []
    i = 0
    while data.startswith(b"#", i):
        i = data.index(b"\n", i) + 1
    while i < len(data):
        j = data.index(b"\n", i)
        _, seq, direction, conn, t, ln = data[i:j].decode().split(" ")
        n = int(ln[4:])
        out.append(Record(int(seq), direction, int(conn[5:]), float(t[2:]), data[j + 1 : j + 1 + n]))
        i = j + 1 + n + 1
    return out


def server_stream(name: str, conn: int = 1, direction: str = "ASTERISK->CLIENT") -> bytes:
    """The exact bytes the server side sent on one connection."""
    return b"".join(r.data for r in records(name) if r.direction == direction and r.conn == conn)


def server_messages(name: str, conn: int = 1) -> list[bytes]:
    """The server's messages on one connection, one recorded record each."""
    return [r.data for r in records(name) if r.direction == "ASTERISK->CLIENT" and r.conn == conn]


def ami_files() -> list[str]:
    """Names of every AMI transcript."""
    return sorted(p.name for p in FIXTURES.glob("ami_*.txt"))


def agi_files() -> list[str]:
    """Names of every AGI transcript."""
    return sorted(p.name for p in FIXTURES.glob("agi_*.txt"))
