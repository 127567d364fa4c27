"""The asyncio AMI client: one logged-in connection to Asterisk, kept alive and resynced.

`AmiClient.run()` owns the socket. It connects, logs in (plain `Secret` or the MD5
challenge), then reads forever; events go to `on_event` in arrival order and answers are
matched to their action by ActionID, never by arrival order. When the connection is lost
it reconnects with capped exponential backoff, and after every login it awaits
`on_connected()` so the application can resync its call state. A refused login is the one
error `run()` raises: retrying the same secret would only fill Asterisk's security log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import random
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NoReturn, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from cti.ami_protocol import AmiMessage, AmiParser, FieldValue, MessageKind, encode_action
from cti.errors import (
    AmiActionError,
    AmiAuthenticationError,
    AmiInjectionError,
    AmiNotConnectedError,
    AmiProtocolError,
    AmiTimeoutError,
    CtiError,
)

logger = logging.getLogger(__name__)
_wire = logging.getLogger("cti.ami.wire")

AuthMethod = Literal["plain", "md5"]
ActionFields = Mapping[str, FieldValue] | Iterable[tuple[str, str]]


class AmiActions(Protocol):
    """Port: send one AMI action and get Asterisk's answer (`AmiClient` satisfies it).

    What the agent-state service and the dialer need of the PBX; tests hand them a fake.
    """

    @property
    def connected(self) -> bool:
        """True while actions can be sent."""
        ...

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Send `name` with `fields` and return the response (CR/LF in a value is refused)."""
        ...


class OfflinePbx:
    """Satisfies AmiActions when Hotline runs without a PBX: nothing is dialled."""

    connected = False

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Refuse every action: there is no AMI connection."""
        raise AmiNotConnectedError(f"cannot send AMI action {name}: no PBX is configured")


_AUTH_METHODS: dict[str, AuthMethod] = {"plain": "plain", "md5": "md5"}
_READ_CHUNK_BYTES = 64 * 1024
_SECRET_LINE = re.compile(r"^(Secret|Key):[^\r\n]*", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class AmiSettings:
    """Where the AMI is, who we log in as, and the deadlines of the connection."""

    host: str
    port: int = 5038
    username: str
    secret: str = field(repr=False)
    auth: AuthMethod = "plain"
    connect_timeout_s: float = 5.0
    action_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.host or any(c.isspace() for c in self.host):
            problems.append("host must be a host name or address without spaces")
        if not 1 <= self.port <= 65535:
            problems.append(f"port {self.port} is outside 1..65535")
        for name, value in (("username", self.username), ("secret", self.secret)):
            if not value:
                problems.append(f"{name} is empty")
            elif "\r" in value or "\n" in value:
                problems.append(f"{name} contains CR or LF")
        if self.auth not in _AUTH_METHODS:
            problems.append(f"auth {self.auth!r} is not one of {', '.join(_AUTH_METHODS)}")
        for name in ("connect_timeout_s", "action_timeout_s", "ping_interval_s", "reconnect_initial_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be greater than 0")
        if not self.reconnect_max_s >= self.reconnect_initial_s:
            problems.append("reconnect_max_s must be at least reconnect_initial_s")
        if problems:
            raise ValueError("invalid AMI settings: " + "; ".join(problems))

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout_s: float = 5.0,
        action_timeout_s: float = 10.0,
        ping_interval_s: float = 20.0,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 30.0,
    ) -> AmiSettings:
        """Parse `ami://user:secret@host:5038?auth=md5` (user and secret percent-encoded).

        Raises ValueError naming what is wrong; the message never contains the secret.
        """
        parts = urlsplit(url.strip())
        if parts.scheme != "ami":
            raise ValueError("the AMI URL must start with ami://")
        if not parts.hostname:
            raise ValueError("the AMI URL has no host (expected ami://user:secret@host:5038)")
        if parts.username is None or parts.password is None:
            raise ValueError("the AMI URL needs a user and a secret (ami://user:secret@host)")
        try:
            port = parts.port if parts.port is not None else 5038
        except ValueError:
            raise ValueError("the AMI URL port is not a number in 1..65535") from None
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("the AMI URL takes no path or fragment")
        try:
            query = parse_qs(parts.query, strict_parsing=bool(parts.query))
        except ValueError:
            raise ValueError("the AMI URL query is malformed (expected ?auth=plain or ?auth=md5)") from None
        unknown = sorted(set(query) - {"auth"})
        if unknown:
            raise ValueError(f"the AMI URL has unknown parameters: {', '.join(unknown)}")
        auth_values = query.get("auth", ["plain"])
        auth = _AUTH_METHODS.get(auth_values[-1].lower())
        if auth is None or len(auth_values) > 1:
            raise ValueError("the AMI URL parameter auth must be given once, as plain or md5")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            secret=unquote(parts.password),
            auth=auth,
            connect_timeout_s=connect_timeout_s,
            action_timeout_s=action_timeout_s,
            ping_interval_s=ping_interval_s,
            reconnect_initial_s=reconnect_initial_s,
            reconnect_max_s=reconnect_max_s,
        )


@dataclass(frozen=True)
class AmiListResult:
    """The answer to a list action: the `EventList: start` response, the items, the `*Complete` event."""

    response: AmiMessage
    items: tuple[AmiMessage, ...]
    complete: AmiMessage


class _ResyncFailedError(Exception):
    """`on_connected` raised, so the state it was rebuilding cannot be trusted."""


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: AmiParser = field(default_factory=AmiParser)
    # Messages read during the login handshake that the reader loop has yet to dispatch.
    backlog: deque[AmiMessage] = field(default_factory=deque)


class _PendingAction:
    """An action sent and not yet fully answered; `finished` resolves when it is."""

    __slots__ = ("complete", "error", "expects_list", "finished", "items", "name", "response")

    def __init__(self, name: str, *, expects_list: bool, finished: asyncio.Future[None]) -> None:
        self.name = name
        self.expects_list = expects_list
        self.finished = finished
        self.response: AmiMessage | None = None
        self.items: list[AmiMessage] = []
        self.complete: AmiMessage | None = None
        self.error: CtiError | None = None

    def on_response(self, message: AmiMessage) -> None:
        if message.name.lower() == "error":
            self.fail(AmiActionError(self.name, message.get("Message", "no message")))
        elif not self.expects_list:
            self.response = message
            self._settle()
        elif message.get("EventList").lower() == "start":
            self.response = message
        else:
            self.fail(AmiActionError(self.name, "the answer did not start an event list"))

    def on_list_event(self, message: AmiMessage) -> None:
        if message.get("EventList").lower() != "complete":
            self.items.append(message)
        elif self.response is None:
            self.fail(AmiProtocolError(f"{self.name} list completed before its response arrived"))
        else:
            self.complete = message
            self._settle()

    def fail(self, error: CtiError) -> None:
        # The error travels as an attribute, not a future exception, so an action whose
        # caller was cancelled at the same moment never leaves an unretrieved exception.
        if not self.finished.done():
            self.error = error
            self._settle()

    def _settle(self) -> None:
        # A peer repeating an answer must not crash the reader with InvalidStateError.
        if not self.finished.done():
            self.finished.set_result(None)


class AmiClient:
    """An AMI connection that logs in, reconnects, keeps alive and matches answers by ActionID.

    `on_event` gets every event that is not a list item, synchronously and in arrival order;
    `on_connected` is awaited after every successful login (the application resyncs there).
    """

    def __init__(
        self,
        settings: AmiSettings,
        *,
        on_event: Callable[[AmiMessage], None],
        on_connected: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._on_event = on_event
        self._on_connected = on_connected
        self._conn: _Connection | None = None
        self._logged_in = False
        self._closed = asyncio.Event()
        self._pending: dict[str, _PendingAction] = {}
        # One counter for the client's lifetime: an answer arriving late from an earlier
        # connection can never match an action of a later one.
        self._action_ids = itertools.count(1)
        self._failures = 0
        self._random = random.Random()  # noqa: S311 - backoff jitter, not cryptography

    @property
    def connected(self) -> bool:
        """True while logged in, i.e. while actions can be sent."""
        return self._logged_in

    async def run(self) -> None:
        """Connect, log in and read until `close()`; reconnect after every loss.

        Raises AmiAuthenticationError when Asterisk refuses the login; re-raises CancelledError.
        """
        s = self._settings
        while not self._closed.is_set():
            try:
                await self._connect_and_serve()
            except AmiAuthenticationError:
                # Retrying the same secret would only fill Asterisk's security log; the caller says so.
                raise
            except AmiProtocolError as exc:
                logger.error(
                    "malformed AMI stream from %s:%d, dropping the connection: %s", s.host, s.port, exc
                )
            except _ResyncFailedError as exc:
                logger.error("%s; dropping the AMI connection to resync after a new login", exc)
            except (OSError, CtiError) as exc:
                if not self._closed.is_set():
                    logger.warning(
                        "AMI connection to %s:%d failed or lost: %s",
                        s.host,
                        s.port,
                        str(exc) or type(exc).__name__,
                    )
            if self._closed.is_set():
                break
            delay_s = self._reconnect_delay_s()
            self._failures += 1
            logger.info("reconnecting to AMI at %s:%d in %.2f s", s.host, s.port, delay_s)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await self._closed.wait()
        logger.info("AMI client for %s:%d closed", s.host, s.port)

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Send one action and return its response.

        Raises AmiActionError (Response: Error), AmiTimeoutError, AmiNotConnectedError, and
        AmiInjectionError before anything is sent when a value holds CR/LF or is too long.
        """
        pending = await self._request(name, fields, expects_list=False, timeout_s=timeout_s)
        assert pending.response is not None
        return pending.response

    async def list_action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiListResult:
        """Send a list action (QueueStatus, CoreShowChannels, Status...) and collect its items.

        The timeout covers the whole list; the items never reach `on_event`.
        """
        pending = await self._request(name, fields, expects_list=True, timeout_s=timeout_s)
        assert pending.response is not None
        assert pending.complete is not None
        return AmiListResult(pending.response, tuple(pending.items), pending.complete)

    async def close(self) -> None:
        """Log off if logged in, close the socket and make `run()` return; a closed client stays closed."""
        self._closed.set()
        conn = self._conn
        if conn is None:
            return
        if self._logged_in:
            try:
                await self.action("Logoff")
            except (AmiActionError, AmiNotConnectedError, AmiTimeoutError) as exc:
                logger.info("AMI Logoff not acknowledged (%s); closing the socket anyway", exc)
        await self._close_writer(conn.writer)

    async def _connect_and_serve(self) -> None:
        s = self._settings
        try:
            async with asyncio.timeout(s.connect_timeout_s):
                reader, writer = await asyncio.open_connection(s.host, s.port)
        except TimeoutError:
            raise TimeoutError(f"no TCP connection within {s.connect_timeout_s:g} s") from None
        conn = _Connection(reader, writer)
        self._conn = conn
        try:
            if self._closed.is_set():
                return
            try:
                async with asyncio.timeout(s.connect_timeout_s):
                    banner = await self._next_message(conn)
            except TimeoutError:
                raise TimeoutError(f"no AMI banner within {s.connect_timeout_s:g} s") from None
            await self._login(conn)
            self._logged_in = True
            logger.info(
                "logged in to AMI %s at %s:%d as %s", banner.get("Version"), s.host, s.port, s.username
            )
            await self._serve(conn)
        finally:
            self._logged_in = False
            self._conn = None
            self._fail_pending()
            await self._close_writer(writer)

    async def _login(self, conn: _Connection) -> None:
        s = self._settings
        try:
            async with asyncio.timeout(s.action_timeout_s):
                if s.auth == "md5":
                    answer = await self._exchange(conn, "Challenge", [("AuthType", "MD5")])
                    if answer.name.lower() == "error":
                        raise AmiAuthenticationError(s.username, answer.get("Message", "challenge refused"))
                    challenge = answer.get("Challenge")
                    if not challenge:
                        raise AmiProtocolError("the Challenge response carries no Challenge value")
                    # AMI's challenge scheme mandates MD5; usedforsecurity=False keeps FIPS builds working.
                    key = hashlib.md5((challenge + s.secret).encode(), usedforsecurity=False).hexdigest()
                    fields = [("AuthType", "MD5"), ("Username", s.username), ("Key", key)]
                else:
                    fields = [("Username", s.username), ("Secret", s.secret)]
                answer = await self._exchange(conn, "Login", fields)
        except TimeoutError:
            raise AmiTimeoutError("Login", s.action_timeout_s) from None
        if answer.name.lower() == "error":
            raise AmiAuthenticationError(s.username, answer.get("Message", "login refused"))

    async def _exchange(self, conn: _Connection, name: str, fields: list[tuple[str, str]]) -> AmiMessage:
        """Send a handshake action and read until its response; the reader loop is not running yet."""
        action_id = self._next_action_id()
        await self._write(conn, encode_action(name, [*fields, ("ActionID", action_id)]))
        while True:
            message = await self._next_message(conn)
            if message.kind is MessageKind.RESPONSE and message.action_id == action_id:
                return message
            self._dispatch(message)

    async def _serve(self, conn: _Connection) -> None:
        """Read and keep alive until the connection fails; always ends by raising the reason."""
        reading = asyncio.create_task(self._read_loop(conn), name="ami-read")
        tending = asyncio.create_task(self._tend(), name="ami-tend")
        try:
            done, _ = await asyncio.wait((reading, tending), return_when=asyncio.FIRST_COMPLETED)
        finally:
            reading.cancel()
            tending.cancel()
            await asyncio.wait((reading, tending))
        # The reader's reason comes first: a lost socket also fails the tender's Ping.
        reasons = [task.exception() for task in (reading, tending) if task in done]
        raise reasons[0] or ConnectionError("the AMI session ended")

    async def _read_loop(self, conn: _Connection) -> NoReturn:
        while True:
            while conn.backlog:
                self._dispatch(conn.backlog.popleft())
            # No deadline on this read: a quiet PBX is normal, and the keepalive Ping in
            # `_tend` bounds how long a silent, dead peer is tolerated.
            data = await conn.reader.read(_READ_CHUNK_BYTES)
            if not data:
                raise ConnectionError("Asterisk closed the connection")
            _log_wire("<<", data)
            conn.backlog.extend(conn.parser.feed(data))

    async def _next_message(self, conn: _Connection) -> AmiMessage:
        while not conn.backlog:
            data = await conn.reader.read(_READ_CHUNK_BYTES)
            if not data:
                raise ConnectionError("Asterisk closed the connection during the login")
            _log_wire("<<", data)
            conn.backlog.extend(conn.parser.feed(data))
        return conn.backlog.popleft()

    async def _tend(self) -> NoReturn:
        """Resync through `on_connected`, then ping every `ping_interval_s`."""
        if self._on_connected is not None:
            try:
                await self._on_connected()
            except Exception as exc:
                raise _ResyncFailedError(f"on_connected failed after the AMI login: {exc!r}") from exc
        self._failures = 0
        while True:
            await asyncio.sleep(self._settings.ping_interval_s)
            await self.action("Ping")

    def _dispatch(self, message: AmiMessage) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if message.kind is MessageKind.RESPONSE:
            if pending is None:
                logger.warning(
                    "dropped AMI response %s with ActionID %r that no waiting action sent",
                    message.name,
                    action_id,
                )
                return
            pending.on_response(message)
        elif pending is not None and pending.expects_list:
            pending.on_list_event(message)
        else:
            try:
                self._on_event(message)
            except Exception:
                logger.exception("on_event failed for AMI event %s; reading goes on", message.name)

    async def _request(
        self, name: str, fields: ActionFields, *, expects_list: bool, timeout_s: float | None
    ) -> _PendingAction:
        conn = self._conn
        if conn is None or not self._logged_in:
            raise AmiNotConnectedError(f"cannot send AMI action {name}: not logged in")
        action_id = self._next_action_id()
        data = encode_action(name, _with_action_id(fields, action_id))
        timeout = self._settings.action_timeout_s if timeout_s is None else timeout_s
        pending = _PendingAction(
            name, expects_list=expects_list, finished=asyncio.get_running_loop().create_future()
        )
        self._pending[action_id] = pending
        try:
            async with asyncio.timeout(timeout):
                await self._write(conn, data)
                await pending.finished
        except TimeoutError:
            raise AmiTimeoutError(name, timeout) from None
        except OSError as exc:
            raise AmiNotConnectedError(f"AMI action {name} could not be sent: {exc}") from exc
        finally:
            del self._pending[action_id]
        if pending.error is not None:
            raise pending.error
        return pending

    async def _write(self, conn: _Connection, data: bytes) -> None:
        _log_wire(">>", data)
        conn.writer.write(data)
        async with asyncio.timeout(self._settings.action_timeout_s):
            await conn.writer.drain()

    def _fail_pending(self) -> None:
        for pending in self._pending.values():
            pending.fail(
                AmiNotConnectedError(f"the AMI connection was lost before {pending.name} was answered")
            )

    async def _close_writer(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        try:
            async with asyncio.timeout(self._settings.connect_timeout_s):
                await writer.wait_closed()
        except OSError as exc:
            # The socket is being discarded either way; a reset or slow close changes nothing.
            logger.debug("closing the AMI socket: %r", exc)

    def _next_action_id(self) -> str:
        return f"hotline-{next(self._action_ids)}"

    def _reconnect_delay_s(self) -> float:
        s = self._settings
        ceiling = min(s.reconnect_max_s, s.reconnect_initial_s * 2.0 ** min(self._failures, 30))
        # Half fixed, half random: several nodes restarting together do not reconnect in lockstep.
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)


def _with_action_id(fields: ActionFields, action_id: str) -> ActionFields:
    if isinstance(fields, Mapping):
        if any(key.lower() == "actionid" for key in fields):
            raise AmiInjectionError("ActionID", "the client sets it; answers are matched by it")
        return {**fields, "ActionID": action_id}
    pairs = list(fields)
    if any(key.lower() == "actionid" for key, _ in pairs):
        raise AmiInjectionError("ActionID", "the client sets it; answers are matched by it")
    return [*pairs, ("ActionID", action_id)]


def _log_wire(direction: str, data: bytes) -> None:
    if _wire.isEnabledFor(logging.DEBUG):
        text = _SECRET_LINE.sub(r"\1: ********", data.decode("utf-8", "replace"))
        _wire.debug("%s %r", direction, text)
