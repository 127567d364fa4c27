"""The simulator's AMI server: sessions on loopback, login, the session-level actions, and event fan-out.

It answers what concerns the connection itself (Login with a plain secret or an MD5 challenge,
Challenge, Ping, Events, Logoff, unknown actions, actions before login) with the recorded
frames of `cti.simulator.frames`, and hands every other action to the handler registered for
it. Events go to every logged-in client with events on, each through its own bounded buffer,
in one write per client per loop iteration.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

from cti.ami_protocol import MAX_ACTION_HEADERS, MAX_ACTION_LINE_BYTES, AmiMessage
from cti.simulator.frames import SessionFrames
from cti.simulator.settings import SimulatorSettings

__all__ = ["Action", "ActionHandler", "AmiServer", "FrameCallback", "Session"]

logger = logging.getLogger(__name__)
wire_logger = logging.getLogger("cti.simulator.wire")

FrameCallback = Callable[[str, AmiMessage | bytes, float], None]

_TERMINATOR = b"\r\n\r\n"
# The longest action Asterisk itself would accept: 128 header lines of 1024 bytes.
_ACTION_LIMIT = (MAX_ACTION_LINE_BYTES + 2) * MAX_ACTION_HEADERS
_UNAUTHENTICATED_TV = "1970-01-01T00:00:00.000+0000"  # what Asterisk shows before a login


class Session:
    """One AMI connection: login state and the bytes waiting for the next flush."""

    __slots__ = (
        "challenge",
        "events",
        "local",
        "logged_in",
        "pending",
        "remote",
        "session_id",
        "session_tv",
        "username",
        "writer",
    )

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.local = _address(writer.get_extra_info("sockname"))
        self.remote = _address(writer.get_extra_info("peername"))
        self.session_id = f"0x7f{secrets.randbits(40):010x}"
        self.session_tv = _UNAUTHENTICATED_TV
        self.username = ""
        self.logged_in = False
        self.events = True
        self.challenge: str | None = None
        self.pending: list[bytes] = []

    @property
    def subscribed(self) -> bool:
        """Logged in with events on: this session gets the event frames."""
        return self.logged_in and self.events


class Action:
    """An action from a client: header lookups are case-insensitive, as in Asterisk."""

    __slots__ = ("fields", "variables")

    def __init__(self, fields: dict[str, str], variables: tuple[str, ...] = ()) -> None:
        self.fields = fields
        # Every `Variable: name=value` line: an Originate may carry several.
        self.variables = variables

    @classmethod
    def parse(cls, block: bytes) -> Action | None:
        """Parse one block ending in an empty line; None for a block of blank lines only."""
        fields: dict[str, str] = {}
        variables: list[str] = []
        count = 0
        for raw in block.split(b"\r\n"):
            if not raw:
                continue
            if len(raw) > MAX_ACTION_LINE_BYTES:
                raise ValueError(f"an action line exceeds {MAX_ACTION_LINE_BYTES} bytes")
            line = raw.decode("utf-8", "replace")
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or not key or "\r" in line or "\n" in line:
                raise ValueError(f"malformed action line {line[:80]!r}")
            count += 1
            fields.setdefault(key.lower(), value.strip())
            if key.lower() == "variable":
                variables.append(value.strip())
        if count > MAX_ACTION_HEADERS:
            raise ValueError(f"an action has more than {MAX_ACTION_HEADERS} headers")
        return cls(fields, tuple(variables)) if fields else None

    def variable(self, name: str) -> str:
        """The value a `Variable: name=value` line gives `name`, or "" when none does."""
        for line in self.variables:
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
        return ""

    def get(self, key: str) -> str:
        """The value of a header (lower-case name), or "" when it is missing."""
        return self.fields.get(key, "")

    @property
    def action_id_line(self) -> str:
        """The ActionID line of an answer, or nothing when the action carried none (as Asterisk does)."""
        action_id = self.fields.get("actionid")
        return f"ActionID: {action_id}\r\n" if action_id else ""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in ("secret", "key") else v) for k, v in self.fields.items()}
        return f"Action({shown})"


ActionHandler = Callable[[Session, Action], None]


class AmiServer:
    """A TCP server on loopback that speaks Asterisk's AMI; `booted_at` is the PBX's start (epoch)."""

    def __init__(self, settings: SimulatorSettings, frames: SessionFrames, booted_at: float) -> None:
        self._settings = settings
        self._frames = frames
        self._booted_at = booted_at
        self._handlers: dict[str, ActionHandler] = {}
        self._sessions: dict[Session, None] = {}
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._frame_callbacks: list[FrameCallback] = []
        self._sent: list[tuple[str, bytes]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle(self, verb: str, handler: ActionHandler) -> None:
        """Answer the actions named `verb` (any case) with `handler` once the client is logged in."""
        self._handlers[verb.lower()] = handler

    async def start(self) -> None:
        """Start listening on the configured host and port."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(
            self._accept, self._settings.host, self._settings.port, limit=_ACTION_LIMIT
        )

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the simulator is not listening; call start() first")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def on_frame_sent(self, callback: FrameCallback) -> None:
        """Call `callback(event name, raw frame, time.perf_counter())` for each event frame written."""
        self._frame_callbacks.append(callback)

    def stop_accepting(self) -> None:
        """Refuse new connections; the sessions go on."""
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Send `Event: Shutdown` to the clients and close them."""
        self.broadcast("Shutdown", self._frames.shutdown, {})
        self._flush()
        for session in list(self._sessions):
            session.writer.close()
        for task in self._session_tasks:
            task.cancel()
        await asyncio.gather(*self._session_tasks, return_exceptions=True)
        if self._server is not None:
            try:
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            except TimeoutError:
                logger.warning("PBX simulator: the listening socket did not close within 2 s")

    # -- output --------------------------------------------------------------------------------

    def publish(self, names: Sequence[str], chunks: Sequence[bytes]) -> None:
        """Queue a batch of event frames (named `names`) for every subscribed client."""
        blob = b"".join(chunks)
        delivered = False
        for session in self._sessions:
            if session.subscribed:
                session.pending.append(blob)
                delivered = True
        if delivered:
            if self._frame_callbacks:
                self._sent.extend(zip(names, chunks, strict=True))
            self._schedule_flush()

    def send(self, session: Session, template: str, values: Mapping[str, str]) -> None:
        """Answer one session."""
        session.pending.append((template % values).encode())
        self._schedule_flush()

    def send_list(
        self,
        session: Session,
        start: str,
        items: Sequence[str],
        complete: str,
        reply: Mapping[str, str],
    ) -> None:
        """A list action's answer: the start response, the items, the *Complete event with ListItems."""
        self.send(session, start, reply)
        session.pending.extend(item.encode() for item in items)
        self.send(session, complete, {**reply, "list_items": str(len(items))})

    def send_event(self, session: Session, name: str, template: str, values: Mapping[str, str]) -> None:
        """An event that answers one session's action (OriginateResponse goes to its sender only)."""
        if session in self._sessions and session.subscribed:
            frame = (template % values).encode()
            session.pending.append(frame)
            if self._frame_callbacks:
                self._sent.append((name, frame))
            self._schedule_flush()

    def broadcast(
        self, name: str, template: str, values: Mapping[str, str], exclude: Session | None = None
    ) -> None:
        """Send one session-level event (QueueMember*, security, Shutdown) to every subscribed client."""
        frame = (template % values).encode()
        delivered = False
        for session in self._sessions:
            if session.subscribed and session is not exclude:
                session.pending.append(frame)
                delivered = True
        if delivered:
            if self._frame_callbacks:
                self._sent.append((name, frame))
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        # One write per client per loop iteration, whatever number of calls rendered frames.
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for session in list(self._sessions):
            if session.pending:
                self._write(session)
        if self._sent:
            sent, self._sent = self._sent, []
            now = time.perf_counter()
            for callback in self._frame_callbacks:
                try:
                    for name, frame in sent:
                        callback(name, frame, now)
                except Exception:
                    logger.exception("on_frame_sent callback %r failed", callback)

    def _write(self, session: Session) -> None:
        data = b"".join(session.pending)
        session.pending.clear()
        transport = session.writer.transport
        if transport.is_closing():
            return
        transport.write(data)
        unsent = transport.get_write_buffer_size()
        if unsent > self._settings.client_buffer_bytes:
            # A client that stopped reading must not make the simulator buffer without end.
            logger.warning(
                "dropping AMI client %s: %d bytes unread (limit %d)",
                session.remote,
                unsent,
                self._settings.client_buffer_bytes,
            )
            self._sessions.pop(session, None)
            transport.abort()

    # -- sessions ------------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback, so the session task is ours to track and cancel: on Python 3.11 the
        # task start_server wraps around a coroutine callback cannot be cancelled cleanly.
        session = Session(writer)
        self._sessions[session] = None  # registered now, so close() closes it even before it runs
        task = asyncio.create_task(self._serve(session, reader), name=f"sim-ami-{session.remote}")
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _serve(self, session: Session, reader: asyncio.StreamReader) -> None:
        try:
            session.pending.append(self._frames.banner)
            self._schedule_flush()
            await self._converse(session, reader)
        except ConnectionError as exc:
            logger.debug("AMI client %s went away: %s", session.remote, exc)
        except Exception:
            logger.exception("AMI session with %s failed", session.remote)
        finally:
            if session in self._sessions:
                del self._sessions[session]
                if session.pending:
                    self._write(session)  # the last answer: Goodbye, Authentication failed
            session.writer.close()

    async def _converse(self, session: Session, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                block = await reader.readuntil(_TERMINATOR)
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError:
                logger.warning(
                    "closing AMI client %s: an action exceeds %d bytes", session.remote, _ACTION_LIMIT
                )
                return
            try:
                action = Action.parse(block)
            except ValueError as exc:
                logger.warning("closing AMI client %s: %s", session.remote, exc)
                return
            if action is None:
                continue
            wire_logger.debug("%s -> %r", session.remote, action)
            if not await self._dispatch(session, action):
                return

    async def _dispatch(self, session: Session, action: Action) -> bool:
        """Answer one action; False closes the connection."""
        p = self._frames
        reply = {"action_id_line": action.action_id_line}
        name = action.get("action")
        if not name:
            self.send(session, p.error, {**reply, "message": "Missing action in request"})
            return True
        verb = name.lower()
        if not session.logged_in and verb not in ("login", "challenge", "logoff"):
            self.send(session, p.permission_denied, reply)
            self.broadcast(
                "RequestNotAllowed", p.request_not_allowed, {**self._security_values(session), "action": name}
            )
            return True
        if verb == "login":
            return await self._login(session, action)
        if verb == "challenge":
            if action.get("authtype").lower() != "md5":
                self.send(session, p.error, {**reply, "message": "Must specify AuthType"})
                return True
            session.challenge = str(secrets.randbelow(2**31))
            self.send(session, p.challenge, {**reply, "challenge": session.challenge})
        elif verb == "ping":
            self.send(session, p.pong, {**reply, "timestamp": f"{time.time():.6f}"})
        elif verb == "logoff":
            self.send(session, p.goodbye, reply)
            return False
        elif verb == "events":
            session.events = action.get("eventmask").lower() != "off"
            self.send(session, p.events_on if session.events else p.events_off, reply)
        elif (handler := self._handlers.get(verb)) is not None:
            handler(session, action)
        else:
            self.send(session, p.unknown_command, {**reply, "action": name})
            self.broadcast(
                "RequestBadFormat", p.request_bad_format, {**self._security_values(session), "action": name}
            )
        return True

    async def _login(self, session: Session, action: Action) -> bool:
        p = self._frames
        s = self._settings
        username = action.get("username")
        if action.get("authtype").lower() == "md5":
            digest = hashlib.md5(((session.challenge or "") + s.secret).encode(), usedforsecurity=False)
            good = session.challenge is not None and hmac.compare_digest(
                action.get("key").lower().encode(), digest.hexdigest().encode()
            )
        else:
            good = hmac.compare_digest(action.get("secret").encode(), s.secret.encode())
        good = hmac.compare_digest(username.encode(), s.username.encode()) and good
        reply = {"action_id_line": action.action_id_line}
        if not good:
            logger.warning("AMI client %s failed to log in as %r", session.remote, username)
            self.broadcast(
                "InvalidPassword",
                p.invalid_password,
                {**self._security_values(session), "account": username},
                exclude=session,
            )
            # Like Asterisk: slow down guessing, answer, then hang up.
            await asyncio.sleep(s.auth_failure_delay_s)
            self.send(session, p.auth_failed, reply)
            return False
        session.logged_in = True
        session.username = username
        session.session_tv = _tv(time.time())
        session.events = action.get("events").lower() != "off"
        self.send(session, p.login_ok, reply)
        if session.events:
            uptime = str(int(time.time() - self._booted_at))
            self.send(session, p.fully_booted, {"uptime": uptime})
        self.broadcast("SuccessfulAuth", p.successful_auth, self._security_values(session))
        return True

    def _security_values(self, session: Session) -> dict[str, str]:
        return {
            "event_tv": _tv(time.time()),
            "account": session.username,
            "session_id": session.session_id,
            "local_address": session.local,
            "remote_address": session.remote,
            "session_tv": session.session_tv,
        }


def _address(sockaddr: object) -> str:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        host = str(sockaddr[0])
        return f"{'IPV6' if ':' in host else 'IPV4'}/TCP/{host}/{sockaddr[1]}"
    return "IPV4/TCP/0.0.0.0/0"


def _tv(epoch: float) -> str:
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}+0000"
