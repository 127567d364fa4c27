"""The FastAGI server: one coroutine per call, typed commands, a deadline on every read.

Hangups are handled as Asterisk 22 really does them (see the recordings): a read command that
returns -1 or a 511 reply means the channel is gone; the unsolicited `HANGUP` line marks the
session as hung up, so the next channel command raises `CallerHungUpError` without being sent.
Asterisk does not close the socket after a hangup: the session ends by half-closing, reading
the last `HANGUP` and the EOF (bounded by a deadline), then closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ivr import agi_protocol as agi
from ivr.agi_protocol import AgiCommand, AgiEnvironment, AgiParser, AgiReply, HangupNotice
from ivr.errors import (
    AgiCommandFailedError,
    AgiConnectionClosedError,
    AgiProtocolError,
    AgiSessionEndedError,
    AgiTimeoutError,
    CallerHungUpError,
    IvrError,
)

log = logging.getLogger(__name__)
wire = logging.getLogger("ivr.agi.wire")

READ_CHUNK_BYTES = 65_536
# Commands that still answer 200 on a dead channel (agi_1, agi_2): the rest get 511.
_DEAD_CHANNEL_SAFE = frozenset({"GET VARIABLE", "GET FULL VARIABLE", "VERBOSE", "NOOP", "SET VARIABLE"})


@dataclass(frozen=True)
class FastAgiSettings:
    """Where the FastAGI server listens and how long it waits for Asterisk."""

    host: str = "127.0.0.1"
    port: int = 4573
    command_timeout_s: float = 60.0
    environment_timeout_s: float = 5.0
    close_timeout_s: float = 2.0
    max_line_bytes: int = agi.DEFAULT_MAX_LINE_BYTES
    max_sessions: int = 2000
    # A PBX that starts many calls at once (a queue overflowing into the IVR) must not be refused.
    backlog: int = 1024
    # How often the watchdog looks for commands past their deadline (its resolution).
    deadline_check_s: float = 0.1


@dataclass(frozen=True, slots=True)
class Playback:
    """What STREAM FILE achieved: the digit that interrupted it (if any), whether it played, endpos."""

    digit: str | None
    played: bool
    endpos: int


@dataclass(frozen=True, slots=True)
class DigitEntry:
    """What GET DATA collected; `prompt_failed` when Asterisk could not play the prompt (result -1)."""

    digits: str
    timed_out: bool
    prompt_failed: bool


class AgiSession:
    """One call's FastAGI conversation: send a command, get its typed result."""

    def __init__(
        self,
        environment: AgiEnvironment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: AgiParser,
        settings: FastAgiSettings,
        pending: list[AgiReply | HangupNotice],
    ) -> None:
        self.environment = environment
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._pending: deque[AgiReply | HangupNotice] = deque(
            e for e in pending if not isinstance(e, HangupNotice)
        )
        self.hung_up = len(self._pending) < len(pending)
        self.commands_sent = 0
        # When the command in flight must have its reply (loop time); the server's watchdog
        # enforces it. One timer per command (asyncio.timeout) cost more than the protocol itself.
        self.reply_due: float | None = None
        self._awaiting = ""
        self._timeout_s = 0.0

    async def run(self, command: AgiCommand) -> AgiReply:
        """Send one command and return its reply (any code); raises when the session cannot go on."""
        if self.hung_up and command.verb not in _DEAD_CHANNEL_SAFE:
            raise CallerHungUpError(f"{self.environment.channel} hung up before {command.verb}")
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("%s -> %r", self.environment.unique_id, command.line)
        try:
            # One command of at most 2 KiB is ever outstanding, far below the transport's
            # high-water mark: drain() returns at once and needs no deadline of its own.
            self._writer.write(command.line)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise AgiConnectionClosedError(f"sending {command.verb}: {exc}") from exc
        self.commands_sent += 1
        self._timeout_s = self._settings.command_timeout_s + command.wait_s
        self._awaiting = command.verb
        self.reply_due = self._loop.time() + self._timeout_s
        try:
            reply = await self._next_reply()
        finally:
            self.reply_due = None
        if reply.code == 511:
            self.hung_up = True
            raise CallerHungUpError(f"{self.environment.channel} is dead: {reply.message}")
        return reply

    def expire(self) -> None:
        """The reply is overdue: the read waiting for it fails with AgiTimeoutError (watchdog)."""
        self.reply_due = None
        self._reader.set_exception(AgiTimeoutError(self._awaiting, self._timeout_s))

    async def _next_reply(self) -> AgiReply:
        # One coroutine that reads and parses: every extra frame is resumed on every reply.
        pending = self._pending
        while True:
            while pending:
                event = pending.popleft()
                if isinstance(event, HangupNotice):
                    self.hung_up = True
                    continue
                return event
            try:
                data = await self._reader.read(READ_CHUNK_BYTES)
            except (ConnectionError, OSError) as exc:
                raise AgiConnectionClosedError(str(exc)) from exc
            if not data:
                raise AgiConnectionClosedError(f"{self.environment.channel}: Asterisk closed the connection")
            if wire.isEnabledFor(logging.DEBUG):
                wire.debug("%s <- %r", self.environment.unique_id, data)
            for parsed in self._parser.feed(data):
                if isinstance(parsed, AgiEnvironment):
                    raise AgiProtocolError("a second environment block in one session")
                pending.append(parsed)

    async def run_ok(self, command: AgiCommand) -> AgiReply:
        """Send one command and return its 200 reply; AgiCommandFailedError for 510 and 520."""
        reply = await self.run(command)
        if reply.code in (510, 520):
            raise AgiCommandFailedError(command.text, reply.code, reply.message, reply.usage)
        if not reply.ok:
            raise AgiProtocolError(f"{command.verb}: unexpected reply {reply.code} {reply.message!r}")
        return reply

    # ------------------------------------------------------------------ typed commands

    async def answer(self) -> None:
        """Answer the channel (needed before playing anything to a ringing caller)."""
        if (await self.run_ok(agi.answer())).result_int == -1:
            raise CallerHungUpError(f"{self.environment.channel} could not be answered")

    async def stream_file(self, sound: str, escape_digits: str = "") -> Playback:
        """Play `sound`; a digit from `escape_digits` stops it and is returned."""
        reply = await self.run_ok(agi.stream_file(sound, escape_digits))
        code = reply.result_int or 0
        if code > 0:
            return Playback(chr(code), True, reply.endpos or 0)
        # -1 with endpos=0 is a missing file on a live channel (agi_1); a hangup shows as 511 next.
        return Playback(None, code == 0, reply.endpos or 0)

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """One digit, or None after `timeout_ms`; CallerHungUpError when the channel failed (-1)."""
        code = (await self.run_ok(agi.wait_for_digit(timeout_ms))).result_int
        if code is None or code < 0:
            self.hung_up = True
            raise CallerHungUpError(f"{self.environment.channel} hung up while waiting for a digit")
        return chr(code) if code else None

    async def get_data(self, sound: str, timeout_ms: int, max_digits: int) -> DigitEntry:
        """Play `sound` and collect digits; -1 means the prompt failed (missing file, or a hangup)."""
        reply = await self.run_ok(agi.get_data(sound, timeout_ms, max_digits))
        if reply.result == "-1":
            return DigitEntry("", False, True)
        digits = "".join(c for c in (reply.result or "") if c in "0123456789*#")
        return DigitEntry(digits, reply.data == "timeout", False)

    async def get_variable(self, name: str) -> str | None:
        """The channel variable's value, or None when unset."""
        reply = await self.run_ok(agi.get_variable(name))
        return reply.data if reply.result == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        """A dialplan expression evaluated on the channel, or None when empty or unset."""
        reply = await self.run_ok(agi.get_full_variable(expression))
        return reply.data if reply.result == "1" and reply.data else None

    async def set_variable(self, name: str, value: str | int) -> None:
        """Set a channel variable (the dialplan reads it after the AGI returns)."""
        await self.run_ok(agi.set_variable(name, value))

    async def say_number(self, number: int, escape_digits: str = "") -> None:
        """Say a number in the channel's language."""
        if (await self.run_ok(agi.say_number(number, escape_digits))).result_int == -1:
            self.hung_up = True
            raise CallerHungUpError(f"{self.environment.channel} hung up during SAY NUMBER")

    async def exec_application(self, application: str, options: str = "") -> int:
        """Run a dialplan application; its return code (-2 means the application does not exist)."""
        return (await self.run_ok(agi.exec_application(application, options))).result_int or 0

    async def verbose(self, message: str, level: int = 1) -> None:
        """Write a line to the Asterisk console."""
        await self.run_ok(agi.verbose(message, level))

    async def hangup(self) -> None:
        """Hang the caller up."""
        await self.run_ok(agi.hangup())
        self.hung_up = True

    async def finish(self) -> None:
        """End the session the way Asterisk expects: half-close, drain HANGUP/EOF, close."""
        writer = self._writer
        try:
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
            self._awaiting, self._timeout_s = "the end of the session", self._settings.close_timeout_s
            self.reply_due = asyncio.get_running_loop().time() + self._timeout_s
            # After our half-close Asterisk sends only its HANGUP line (agi_3), then EOF: read to EOF.
            while await self._reader.read(READ_CHUNK_BYTES):
                continue
        except (ConnectionError, OSError, AgiTimeoutError):
            log.debug("AGI session %s closed without Asterisk's EOF", self.environment.unique_id)
        finally:
            self.reply_due = None
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


SessionHandler = Callable[[AgiSession], Awaitable[None]]


class _Watched(Protocol):
    reply_due: float | None

    def expire(self) -> None: ...


class _Opening:
    """A connection whose environment block is still arriving, under the watchdog's deadline."""

    def __init__(self, reader: asyncio.StreamReader, timeout_s: float) -> None:
        self._reader = reader
        self._timeout_s = timeout_s
        self.reply_due: float | None = asyncio.get_running_loop().time() + timeout_s

    def expire(self) -> None:
        self.reply_due = None
        self._reader.set_exception(AgiTimeoutError("the environment block", self._timeout_s))


class FastAgiServer:
    """Accepts FastAGI connections from Asterisk and runs the handler of the requested script per call.

    `routes` maps the script of `agi://host:port/<script>` to its handler.
    """

    def __init__(self, settings: FastAgiSettings, routes: Mapping[str, SessionHandler]) -> None:
        self._settings = settings
        self._routes = dict(routes)
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._live: set[_Watched] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self._server is not None, "the server is not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sessions_in_progress(self) -> int:
        """Connections being served right now."""
        return len(self._sessions)

    async def start(self) -> None:
        """Listen on the configured host and port."""
        self._server = await asyncio.start_server(
            self._serve,
            self._settings.host,
            self._settings.port,
            limit=self._settings.max_line_bytes,
            backlog=self._settings.backlog,
        )
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_deadlines(), name="agi-deadlines")
        log.info("FastAGI server listening on %s:%d", self._settings.host, self.port)

    async def try_start(self) -> bool:
        """Listen, or say once why not (the port is taken): Hotline serves on without the IVR."""
        try:
            await self.start()
        except OSError as exc:
            log.error(
                "cannot listen for FastAGI on %s:%d (%s). Set HOTLINE_IVR_PORT to a free port, or "
                "HOTLINE_IVR_ENABLED=false; Hotline keeps serving without the IVR.",
                self._settings.host,
                self._settings.port,
                exc.strerror or exc,
            )
            return False
        return True

    async def _watch_deadlines(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._settings.deadline_check_s)
            now = loop.time()
            for overdue in [w for w in self._live if w.reply_due is not None and w.reply_due <= now]:
                overdue.expire()

    async def close(self) -> None:
        """Stop accepting, then end the sessions in flight and wait for them."""
        self._closing = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve_call(reader, writer)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # Our own shutdown ended the call's session (the dialplan goes on). The task ends
            # normally: asyncio reports a cancelled connection task as an error.
            writer.close()

    async def _serve_call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._sessions) >= self._settings.max_sessions:
            log.warning("FastAGI connection refused: %d sessions already running", len(self._sessions))
            writer.close()
            return
        self._sessions.add(task)
        peer = writer.get_extra_info("peername")
        opening = _Opening(reader, self._settings.environment_timeout_s)
        self._live.add(opening)
        try:
            session = await self._open(reader, writer)
        except (AgiSessionEndedError, AgiProtocolError) as exc:
            log.warning("FastAGI connection from %s dropped before the call started: %s", peer, exc)
            writer.close()
            self._sessions.discard(task)
            return
        finally:
            self._live.discard(opening)
        handler = self._routes.get(session.environment.script)
        self._live.add(session)
        try:
            if handler is None:
                log.warning(
                    "AGI request %r names no script Hotline serves (%s); the dialplan goes on",
                    session.environment.request,
                    ", ".join(sorted(self._routes)),
                )
            else:
                await handler(session)
        except CallerHungUpError as exc:
            log.info("call %s ended in the IVR: %s", session.environment.unique_id, exc)
        except IvrError as exc:
            log.warning("AGI session %s ended early: %s", session.environment.unique_id, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("AGI session %s failed", session.environment.unique_id)
        finally:
            try:
                await session.finish()
            finally:
                self._live.discard(session)
                self._sessions.discard(task)

    async def _open(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> AgiSession:
        parser = AgiParser(max_line_bytes=self._settings.max_line_bytes)
        started = time.monotonic()
        events: list[agi.AgiEvent] = []
        try:
            while not parser.has_environment:
                data = await reader.read(READ_CHUNK_BYTES)
                if not data:
                    raise AgiConnectionClosedError("the peer closed during the environment block")
                if wire.isEnabledFor(logging.DEBUG):
                    wire.debug("<- %r", data)
                events.extend(parser.feed(data))
        except (ConnectionError, OSError) as exc:
            raise AgiConnectionClosedError(str(exc)) from exc
        environment = events[0]
        assert isinstance(environment, AgiEnvironment)
        rest = [e for e in events[1:] if isinstance(e, AgiReply | HangupNotice)]
        log.debug(
            "AGI session %s (%s) from %s started in %.1f ms",
            environment.unique_id,
            environment.script,
            environment.caller_number or "unknown caller",
            (time.monotonic() - started) * 1000,
        )
        return AgiSession(environment, reader, writer, parser, self._settings, rest)
