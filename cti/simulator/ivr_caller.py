"""The PBX side of a FastAGI session, for the simulator: a caller walks Hotline's IVR first.

It speaks as Asterisk 22 does in the recordings, with their bytes: the environment block of
agi_4 (this call's channel, ids and caller put in), one recorded reply per command (agi_1), and
`HANGUP` once the server half-closes. The caller keys one menu digit per WAIT FOR DIGIT from
`keys` and keys nothing at GET DATA prompts (an unidentified caller goes on as unknown). The
variables the IVR set (QUEUE_PRIO, HOTLINE_QUEUE, …) are returned, as the dialplan would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cti.simulator.transcript import FROM_ASTERISK_TO_AGI, packaged, reply_to

__all__ = ["environment_block", "walk_ivr"]

_HANGUP = b"HANGUP\n"
_RESULT_VALUE = re.compile(rb"\(.*\)")
_RESULT_CODE = re.compile(rb"result=\d+")


@dataclass(frozen=True, slots=True)
class _Replies:
    """What Asterisk answered in the lab, by kind of command."""

    environment: bytes  # agi_4's block, values to be replaced
    ok_0: bytes  # ANSWER, GET VARIABLE of an unset variable, EXEC, NOOP
    ok_1: bytes  # VERBOSE, SET VARIABLE, HANGUP
    played: bytes  # STREAM FILE of a sound that exists
    digit: bytes  # WAIT FOR DIGIT with a key pressed (53, the ASCII code of 5)
    no_digit: bytes  # WAIT FOR DIGIT that timed out
    value: bytes  # GET FULL VARIABLE: `200 result=1 (<value>)`
    unknown: bytes  # a command Asterisk does not know

    def with_value(self, value: str) -> bytes:
        """The GET FULL VARIABLE reply carrying `value`."""
        return _RESULT_VALUE.sub(lambda _: b"(" + value.encode() + b")", self.value, count=1)

    def with_digit(self, key: str) -> bytes:
        """The WAIT FOR DIGIT reply for `key` (its ASCII code, as res_agi answers)."""
        return _RESULT_CODE.sub(f"result={ord(key)}".encode(), self.digit, count=1)


@functools.cache
def _replies() -> _Replies:
    tour = packaged("agi_1_command_tour.txt")
    ivr = packaged("agi_4_ivr_to_queue.txt")
    return _Replies(
        environment=next(r.data for r in ivr if r.direction == FROM_ASTERISK_TO_AGI),
        ok_0=reply_to(tour, b"ANSWER\n"),
        ok_1=reply_to(tour, b'VERBOSE "CTI lab FastAGI session started" 1\n'),
        played=reply_to(tour, b'STREAM FILE /srv/asterisk-lab/sounds/lab-silence "0123456789#*"\n'),
        digit=reply_to(tour, b"WAIT FOR DIGIT 5000\n"),
        no_digit=reply_to(tour, b"WAIT FOR DIGIT 1000\n"),
        value=reply_to(tour, b'GET FULL VARIABLE "${CALLERID(num)}/${CALLERID(name)}/${CHANNEL}"\n'),
        unknown=reply_to(tour, b"NO SUCH COMMAND\n"),
    )


def environment_block(
    *, channel: str, unique_id: str, caller_number: str, caller_name: str, extension: str
) -> bytes:
    """The environment block Asterisk sends for `AGI(agi://…/ivr)` on this channel."""
    values = {
        b"agi_channel": channel,
        b"agi_type": channel.split("/", 1)[0],
        b"agi_uniqueid": unique_id,
        b"agi_callerid": caller_number or "unknown",
        b"agi_calleridname": caller_name or "unknown",
        b"agi_extension": extension,
    }
    lines = []
    for line in _replies().environment.split(b"\n"):
        name = line.partition(b": ")[0]
        lines.append(name + b": " + values[name].encode() if name in values else line)
    return b"\n".join(lines)


def _reply(command: str, linked_id: str, keys: list[str], variables: dict[str, str]) -> list[bytes]:
    replies = _replies()
    if command.startswith("GET FULL VARIABLE"):
        return [replies.with_value(linked_id)]
    if command.startswith("SET VARIABLE "):
        _, _, name, value = command.split(" ", 3)
        variables[name] = value.strip('"')
        return [replies.ok_1]
    if command.startswith(("STREAM FILE", "SAY ")):
        return [replies.played]
    if command.startswith("WAIT FOR DIGIT"):
        key = keys.pop(0) if keys else ""
        return [replies.with_digit(key) if key else replies.no_digit]
    if command.startswith("GET DATA"):
        # No digit at all: res_agi's handle_getdata answers this (read in its source, not recorded).
        return [b"200 result= (timeout)\n"]
    if command == "HANGUP":
        return [replies.ok_1, _HANGUP]
    if command.startswith("VERBOSE"):
        return [replies.ok_1]
    if command.startswith(("GET VARIABLE", "EXEC", "ANSWER", "NOOP")):
        return [replies.ok_0]
    return [replies.unknown]


async def walk_ivr(
    host: str,
    port: int,
    *,
    channel: str,
    unique_id: str,
    linked_id: str,
    caller_number: str,
    caller_name: str,
    extension: str,
    keys: Sequence[str],
    timeout_s: float = 30.0,
) -> dict[str, str]:
    """Run one caller through the IVR at host:port; the channel variables it set."""
    variables: dict[str, str] = {}
    pending = list(keys)
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(
                environment_block(
                    channel=channel,
                    unique_id=unique_id,
                    caller_number=caller_number,
                    caller_name=caller_name,
                    extension=extension,
                )
            )
            while line := await reader.readline():
                for reply in _reply(
                    line.decode("utf-8", "replace").rstrip("\n"), linked_id, pending, variables
                ):
                    writer.write(reply)
                await writer.drain()
            # The server half-closed: Asterisk answers with HANGUP and closes (agi_3).
            writer.write(_HANGUP)
        finally:
            writer.close()
            # The server may be gone already; the session is over either way.
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    return variables
