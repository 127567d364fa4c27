"""The byte-exact Asterisk recordings in ../shared/fixtures/asterisk, read with the simulator's reader."""

from __future__ import annotations

import os
from pathlib import Path

from cti.simulator.transcript import FROM_ASTERISK, Record, parse, sent

__all__ = ["FIXTURES", "Record", "agi_files", "ami_files", "records", "server_messages", "server_stream"]

FIXTURES = Path(
    os.environ.get(
        "HOTLINE_FIXTURES", Path(__file__).resolve().parents[1].parent / "shared/fixtures/asterisk"
    )
)


def records(name: str) -> list[Record]:
    """Every record of the named transcript, in order."""
    return parse((FIXTURES / name).read_bytes())


def server_stream(name: str, conn: int = 1, direction: str = FROM_ASTERISK) -> bytes:
    """The exact bytes the server side sent on one connection."""
    return b"".join(sent(records(name), direction, conn))


def server_messages(name: str, conn: int = 1) -> list[bytes]:
    """The server's messages on one connection, one recorded record each."""
    return sent(records(name), FROM_ASTERISK, conn)


def ami_files() -> list[str]:
    """Names of every AMI transcript."""
    return sorted(p.name for p in FIXTURES.glob("ami_*.txt"))


def agi_files() -> list[str]:
    """Names of every AGI transcript."""
    return sorted(p.name for p in FIXTURES.glob("agi_*.txt"))
