"""Fake Asterisks for FastAGI tests: they connect to the server as Asterisk does.

`ReplayAsterisk` replays one recorded session byte for byte: it sends the recorded
environment block, then for every command the server sends it checks that the bytes are the
recorded ones and answers with exactly what Asterisk sent next (unsolicited `HANGUP` lines
included). When the server half-closes, it sends what Asterisk sent after the recorder's
half-close (`HANGUP`) and closes, as Asterisk always does.

`ScriptedAsterisk` plays a caller for the IVR flows: it answers each command in the shapes
the recordings show (`200 result=0 endpos=8000`, `200 result=<ASCII code>`, `200 result=1
(value)`, `HANGUP`), with the digits a test scripts for the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from cti.simulator.transcript import (
    AGI_SERVER_CLOSED,
    FROM_AGI_SERVER,
    FROM_ASTERISK_TO_AGI,
    NOTE,
    Record,
    reply_to,
)
from tests.recordings import records

HANGUP_LINE = b"HANGUP\n"


def environment_block(transcript: str) -> bytes:
    """The recorded environment block of a session."""
    first = next(r for r in records(transcript) if r.direction == FROM_ASTERISK_TO_AGI)
    assert first.data.startswith(b"agi_network: yes\n")
    return first.data


def with_caller(block: bytes, number: str, unique_id: str, name: str = "Test Caller") -> bytes:
    """A recorded environment block with another caller id and Uniqueid (the values of another call)."""
    values = {b"agi_callerid: ": number, b"agi_calleridname: ": name, b"agi_uniqueid: ": unique_id}
    out = []
    for line in block.split(b"\n"):
        for prefix, value in values.items():
            if line.startswith(prefix):
                line = prefix + value.encode()
        out.append(line)
    return b"\n".join(out)


def recorded_reply(transcript: str, command: bytes) -> bytes:
    """What Asterisk answered to the first recorded `command` of a transcript."""
    return reply_to(records(transcript), command)


@dataclass
class ReplayResult:
    """What the server sent during a replay."""

    commands: list[bytes] = field(default_factory=list)
    half_closed: bool = False


async def replay(
    port: int,
    transcript: str,
    *,
    withhold_hangup: bool = False,
    timeout_s: float = 5.0,
) -> ReplayResult:
    """Replay `transcript` against the server on 127.0.0.1:`port`; the server's commands must be a
    prefix of the recorded ones (a server may stop earlier than the recorder did).

    `withhold_hangup` keeps the mid-session `HANGUP` lines back, as if they came late, so the
    server sees the 511 replies of the dead channel first.
    """
    recs: list[Record] = [r for r in records(transcript) if r.direction != NOTE]
    close_at = next(i for i, r in enumerate(recs) if r.direction == AGI_SERVER_CLOSED)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    result = ReplayResult()
    try:
        async with asyncio.timeout(timeout_s):
            i = 0
            while recs[i].direction == FROM_ASTERISK_TO_AGI:
                writer.write(recs[i].data)
                i += 1
            await writer.drain()
            ended_early = False
            while i < close_at:
                rec = recs[i]
                assert rec.direction == FROM_AGI_SERVER, rec
                line = await reader.readline()
                if not line:
                    ended_early = True
                    break
                result.commands.append(line)
                assert line == rec.data, f"record {rec.seq}: expected {rec.data!r}, got {line!r}"
                i += 1
                while recs[i].direction == FROM_ASTERISK_TO_AGI:
                    if not (withhold_hangup and recs[i].data == HANGUP_LINE):
                        writer.write(recs[i].data)
                    i += 1
                await writer.drain()
            if not ended_early:
                assert await reader.read() == b"", "the server sent more after the recorder's half-close"
            result.half_closed = True
            for rec in recs[close_at:]:
                if rec.direction == FROM_ASTERISK_TO_AGI:
                    writer.write(rec.data)
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return result


# Reply shapes recorded in agi_1 / agi_4 (only the values change).
PLAYED = recorded_reply(
    "agi_4_ivr_to_queue.txt", b'STREAM FILE /srv/asterisk-lab/sounds/lab-silence "0123456789#*"\n'
)
OK_0 = recorded_reply("agi_1_command_tour.txt", b"ANSWER\n")
OK_1 = recorded_reply("agi_1_command_tour.txt", b'VERBOSE "CTI lab FastAGI session started" 1\n')
UNSET = recorded_reply("agi_1_command_tour.txt", b"GET VARIABLE NO_SUCH_VAR\n")
NO_DIGIT = recorded_reply("agi_1_command_tour.txt", b"WAIT FOR DIGIT 1000\n")
DEAD = recorded_reply("agi_2_caller_hangup.txt", b"CHANNEL STATUS\n")
FAILED = recorded_reply("agi_2_caller_hangup.txt", b"WAIT FOR DIGIT 10000\n")


def _digit_reply(digit: str) -> bytes:
    # As `200 result=53` for '5' (agi_1).
    return b"200 result=" + str(ord(digit)).encode() + b"\n"


HANG_UP = "hang up"


@dataclass
class ScriptedAsterisk:
    """A caller on a scripted channel: `keys` are what they key at each prompt that reads digits
    (one string per WAIT FOR DIGIT or GET DATA, "" for silence, HANG_UP to hang up there)."""

    keys: Sequence[str]
    caller_number: str = "0908000042"
    linked_id: str = "1795394472.2"
    unique_id: str = "1795394472.3"
    variables: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    set_variables: dict[str, str] = field(default_factory=dict)
    played: list[str] = field(default_factory=list)
    hung_up: bool = False

    async def call(self, port: int, timeout_s: float = 10.0) -> None:
        """Connect, send the environment block, answer commands until the server closes."""
        keys = list(self.keys)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(timeout_s):
                writer.write(
                    with_caller(
                        environment_block("agi_4_ivr_to_queue.txt"), self.caller_number, self.unique_id
                    )
                )
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    command = line.decode().rstrip("\n")
                    self.commands.append(command)
                    for reply in self._answer(command, keys):
                        writer.write(reply)
                    await writer.drain()
                # Asterisk answers the half-close with HANGUP and closes (agi_3).
                writer.write(HANGUP_LINE)
        finally:
            writer.close()
            await writer.wait_closed()

    def _answer(self, command: str, keys: list[str]) -> list[bytes]:
        if self.hung_up and command.split(" ")[0] not in ("GET", "VERBOSE", "NOOP", "SET"):
            return [DEAD]
        verb = command.split(" ", 2)
        if command == "ANSWER":
            return [OK_0]
        if command.startswith("GET FULL VARIABLE"):
            return [b"200 result=1 (" + self.linked_id.encode() + b")\n"]
        if command.startswith("GET VARIABLE "):
            value = self.variables.get(verb[2])
            return [UNSET] if value is None else [b"200 result=1 (" + value.encode() + b")\n"]
        if command.startswith("SET VARIABLE "):
            name, value = command.split(" ", 3)[2:]
            self.set_variables[name] = value.strip('"')
            return [OK_1]
        if command.startswith("STREAM FILE "):
            self.played.append(command.split(" ")[2])
            return [PLAYED]
        if command.startswith(("SAY NUMBER", "EXEC ")):
            self.played.append(command)
            return [OK_0]
        if command == "HANGUP":
            self.hung_up = True
            return [OK_1, HANGUP_LINE]
        if command.startswith(("WAIT FOR DIGIT", "GET DATA")):
            if command.startswith("GET DATA"):
                self.played.append(command.split(" ")[2])
            entry = keys.pop(0) if keys else ""
            if entry == HANG_UP:
                self.hung_up = True
                return [FAILED, HANGUP_LINE]
            if command.startswith("WAIT FOR DIGIT"):
                return [_digit_reply(entry)] if entry else [NO_DIGIT]
            # No digit at all: res_agi's handle_getdata answers "200 result= (timeout)" (not recorded).
            return [b"200 result=" + entry.encode() + (b"\n" if entry else b" (timeout)\n")]
        raise AssertionError(f"the scripted caller does not expect {command!r}")
