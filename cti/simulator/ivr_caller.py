"""The PBX side of a FastAGI session, for the simulator: a caller walks Hotline's IVR first.

It speaks as Asterisk 22 does in the recordings (../shared/fixtures/asterisk/agi_*.txt): the
22-line environment block, one reply per command in the recorded shapes, `HANGUP` once the
server half-closes. The caller keys one menu digit per WAIT FOR DIGIT from `keys` and keys
nothing at GET DATA prompts (an unidentified caller goes on as unknown). The variables the IVR
set (QUEUE_PRIO, HOTLINE_QUEUE, …) are returned, as the dialplan would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

_PLAYED = b"200 result=0 endpos=8000\n"
_OK = b"200 result=1\n"
_NOTHING = b"200 result=0\n"


def environment_block(
    *, channel: str, unique_id: str, caller_number: str, caller_name: str, extension: str
) -> bytes:
    """The environment block Asterisk sends for `AGI(agi://…/ivr)` on this channel."""
    fields = [
        ("network", "yes"),
        ("network_script", "ivr"),
        ("request", "agi://127.0.0.1:4573/ivr"),
        ("channel", channel),
        ("language", "en"),
        ("type", channel.split("/", 1)[0]),
        ("uniqueid", unique_id),
        ("version", "22.10.1"),
        ("callerid", caller_number or "unknown"),
        ("calleridname", caller_name or "unknown"),
        ("callingpres", "0"),
        ("callingani2", "0"),
        ("callington", "0"),
        ("callingtns", "0"),
        ("dnid", "unknown"),
        ("rdnis", "unknown"),
        ("context", "from-pstn"),
        ("extension", extension),
        ("priority", "8"),
        ("enhanced", "0.0"),
        ("accountcode", ""),
        ("threadid", "1"),
    ]
    return "".join(f"agi_{name}: {value}\n" for name, value in fields).encode() + b"\n"


def _reply(command: str, linked_id: str, keys: list[str], variables: dict[str, str]) -> list[bytes]:
    if command.startswith("GET FULL VARIABLE"):
        return [f"200 result=1 ({linked_id})\n".encode()]
    if command.startswith("SET VARIABLE "):
        _, _, name, value = command.split(" ", 3)
        variables[name] = value.strip('"')
        return [_OK]
    if command.startswith(("STREAM FILE", "SAY ")):
        return [_PLAYED]
    if command.startswith("WAIT FOR DIGIT"):
        key = keys.pop(0) if keys else ""
        return [f"200 result={ord(key)}\n".encode() if key else _NOTHING]
    if command.startswith("GET DATA"):
        return [b"200 result= (timeout)\n"]
    if command == "HANGUP":
        return [_OK, b"HANGUP\n"]
    if command.startswith(("GET VARIABLE", "EXEC", "ANSWER", "VERBOSE", "NOOP")):
        return [_OK if command.startswith("VERBOSE") else _NOTHING]
    return [b"510 Invalid or unknown command\n"]


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
            writer.write(b"HANGUP\n")
        finally:
            writer.close()
            # The server may be gone already; the session is over either way.
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    return variables
