"""A fake Asterisk AMI on 127.0.0.1 that replays the recordings of a real Asterisk 22.

It sends the recorded banner. When the client sends an action, it finds the recorded
action with the same name and the same fields (ActionID aside) in its transcripts and
answers with exactly the bytes Asterisk sent after it on that connection, up to the
recorder's next action, with only the ActionID rewritten to the client's. When Asterisk
closed the connection there (Logoff, a failed login), the fake closes it too.

Tests steer it with one-shot rules: leave an action unanswered, cut the connection in the
middle of an answer, answer a batch of actions last first, refuse connections, push a
recorded event stream, or send raw bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from cti.simulator.transcript import ASTERISK_CLOSED, FROM_ASTERISK, FROM_CLIENT
from tests.recordings import records


@dataclass(frozen=True)
class ReceivedAction:
    """One action the client sent: on which connection (1 = first), its name and its fields."""

    connection: int
    name: str
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        """The value of field `key`, or None when the client did not send it."""
        return next((value for name, value in self.fields if name == key), None)


@dataclass(frozen=True)
class Exchange:
    """A recorded action and the bytes Asterisk sent after it, one message per element."""

    source: str
    name: str
    fields: tuple[tuple[str, str], ...]
    action_id: str | None
    replies: tuple[bytes, ...]
    closes: bool

    def matches(self, action: ReceivedAction, ignored: tuple[str, ...] = ()) -> bool:
        """Same action name and the same fields, ActionID (and `ignored` fields) aside, in any order."""
        return self.name.lower() == action.name.lower() and _signature(self.fields, ignored) == _signature(
            action.fields, ignored
        )


def recorded_action(transcript: str, seq: int) -> ReceivedAction:
    """The action the recorder sent in record `seq` of a transcript, parsed."""
    record = next(r for r in records(transcript) if r.seq == seq)
    assert record.direction == FROM_CLIENT, f"{transcript} record {seq} is not an action"
    block = record.data.removesuffix(b"\r\n\r\n")
    return _parse_action(record.conn, block)


def load_exchanges(transcript: str, conn: int) -> tuple[bytes, list[Exchange]]:
    """The banner and every action/answer exchange of one recorded connection."""
    recs = [r for r in records(transcript) if r.conn == conn]
    banner = recs[0].data
    assert recs[0].direction == FROM_ASTERISK
    assert banner.startswith(b"Asterisk Call Manager/")
    exchanges: list[Exchange] = []
    current: ReceivedAction | None = None
    source = ""
    replies: list[bytes] = []
    closes = False

    def finish() -> None:
        if current is not None:
            action_id = current.get("ActionID")
            fields = tuple((k, v) for k, v in current.fields if k != "ActionID")
            exchanges.append(Exchange(source, current.name, fields, action_id, tuple(replies), closes))

    for r in recs[1:]:
        if r.direction == FROM_CLIENT:
            finish()
            current = _parse_action(conn, r.data.removesuffix(b"\r\n\r\n"))
            source, replies, closes = f"{transcript}#{r.seq}", [], False
        elif r.direction == FROM_ASTERISK:
            assert current is not None, f"{transcript} conn {conn}: Asterisk spoke before any action"
            replies.append(r.data)
        elif r.direction == ASTERISK_CLOSED:
            closes = True
    finish()
    return banner, exchanges


def event_records(transcript: str, conn: int = 1) -> list[bytes]:
    """Every Event message Asterisk sent on one recorded connection, in order."""
    return [
        r.data
        for r in records(transcript)
        if r.conn == conn and r.direction == FROM_ASTERISK and r.data.startswith(b"Event: ")
    ]


@dataclass
class _Rules:
    hold: list[str] = field(default_factory=list)
    cut: list[tuple[str, int]] = field(default_factory=list)
    reverse_batch: int = 0
    batch: list[tuple[bytes, ...]] = field(default_factory=list)
    refuse_connections: int = 0


class FakeAmi:
    """A loopback AMI server that answers with the recorded traffic of the given connections.

    `sources` are (transcript, connection) pairs; the first one also gives the banner, and
    when several recorded actions match, the earliest source wins.
    """

    def __init__(
        self,
        *sources: tuple[str, int],
        chunk_size: int | None = None,
        repeats_in_order: bool = False,
        ignore_fields: tuple[str, ...] = (),
    ) -> None:
        assert sources, "a FakeAmi needs at least one recorded connection"
        # Fields left out of matching, e.g. ("Variable",): channel variables only reach the
        # dialplan and do not change what Asterisk answers to the action itself.
        self.ignore_fields = tuple(f.lower() for f in ignore_fields)
        # With repeats_in_order, an action sent again gets the answer recorded for its next
        # occurrence (a duplicate QueueRemove is refused, as it was), and the last one after that.
        self.repeats_in_order = repeats_in_order
        self._used: set[int] = set()
        self.banner = load_exchanges(*sources[0])[0]
        self.exchanges = [exchange for source in sources for exchange in load_exchanges(*source)[1]]
        self.chunk_size = chunk_size
        self.actions: list[ReceivedAction] = []
        self.unmatched: list[ReceivedAction] = []
        self.connections = 0
        self.open_connections = 0
        self._rules = _Rules()
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The loopback port the fake listens on."""
        assert self._server is not None, "start the FakeAmi first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        async with asyncio.timeout(5):
            await self._server.wait_closed()
            if self._handlers:
                await asyncio.wait(self._handlers)

    def actions_named(self, name: str) -> list[ReceivedAction]:
        """The actions of that name the client sent, in order."""
        return [a for a in self.actions if a.name.lower() == name.lower()]

    def hold_next(self, action: str) -> None:
        """Leave the next action of that name unanswered, as a hung Asterisk would."""
        self._rules.hold.append(action.lower())

    def cut_next(self, action: str, after_messages: int) -> None:
        """Answer the next action of that name with its first messages only, then drop the connection."""
        self._rules.cut.append((action.lower(), after_messages))

    def answer_in_reverse(self, count: int) -> None:
        """Hold the answers to the next `count` actions, then send them all, last action first."""
        self._rules.reverse_batch = count

    def refuse_connections(self, count: int) -> None:
        """Close the next `count` connections at once, before the banner (Asterisk still starting)."""
        self._rules.refuse_connections = count

    async def push_events(self, transcript: str, conn: int = 1) -> list[bytes]:
        """Send every recorded Event of that connection to the current client; return them."""
        events = event_records(transcript, conn)
        await self._send(self._current_writer(), events)
        return events

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are to the current client (for malformed-stream tests)."""
        await self._send(self._current_writer(), [data])

    def _current_writer(self) -> asyncio.StreamWriter:
        live = [w for w in self._writers if not w.is_closing()]
        assert live, "no client is connected to the FakeAmi"
        return live[-1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        self.open_connections += 1
        number = self.connections
        self._writers.append(writer)
        try:
            if self._rules.refuse_connections:
                self._rules.refuse_connections -= 1
                return
            await self._send(writer, [self.banner])
            buffer = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                buffer += data
                while (end := buffer.find(b"\r\n\r\n")) >= 0:
                    block, buffer = buffer[:end], buffer[end + 4 :]
                    if not await self._answer(writer, _parse_action(number, block)):
                        return
        except ConnectionError:
            return  # the client hung up; nothing is left to answer
        finally:
            self.open_connections -= 1
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, writer: asyncio.StreamWriter, action: ReceivedAction) -> bool:
        """Answer one action; False when the connection is to be closed after it."""
        self.actions.append(action)
        name = action.name.lower()
        if name in self._rules.hold:
            self._rules.hold.remove(name)
            return True
        candidates = [i for i, e in enumerate(self.exchanges) if e.matches(action, self.ignore_fields)]
        if self.repeats_in_order:
            fresh = [i for i in candidates if i not in self._used]
            candidates = fresh or candidates[-1:]
        exchange = self.exchanges[candidates[0]] if candidates else None
        if candidates:
            self._used.add(candidates[0])
        if exchange is None:
            self.unmatched.append(action)
            return True
        replies = tuple(
            _rewrite_action_id(r, exchange.action_id, action.get("ActionID")) for r in exchange.replies
        )
        cut = next((c for c in self._rules.cut if c[0] == name), None)
        if cut is not None:
            self._rules.cut.remove(cut)
            await self._send(writer, replies[: cut[1]])
            writer.transport.abort()
            return False
        if self._rules.reverse_batch:
            self._rules.batch.append(replies)
            if len(self._rules.batch) < self._rules.reverse_batch:
                return True
            batch, self._rules.batch, self._rules.reverse_batch = self._rules.batch, [], 0
            await self._send(writer, [message for answer in reversed(batch) for message in answer])
            return True
        await self._send(writer, replies)
        return not exchange.closes

    async def _send(self, writer: asyncio.StreamWriter, messages: Sequence[bytes]) -> None:
        data = b"".join(messages)
        step = self.chunk_size or len(data) or 1
        for start in range(0, len(data), step):
            writer.write(data[start : start + step])
            await writer.drain()


def _parse_action(connection: int, block: bytes) -> ReceivedAction:
    pairs = []
    for line in block.decode("utf-8").split("\r\n"):
        key, sep, value = line.partition(": ")
        assert sep, f"the client sent a line that is not 'Key: value': {line!r}"
        pairs.append((key, value))
    assert pairs[0][0] == "Action", f"the client sent a block that does not start with Action: {pairs[0]}"
    return ReceivedAction(connection, pairs[0][1], tuple(pairs[1:]))


def _signature(fields: tuple[tuple[str, str], ...], ignored: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return sorted(
        (key.lower(), value)
        for key, value in fields
        if key.lower() != "actionid" and key.lower() not in ignored
    )


def _rewrite_action_id(message: bytes, recorded: str | None, sent: str | None) -> bytes:
    if recorded is None:
        return message
    old = b"\r\nActionID: " + recorded.encode() + b"\r\n"
    new = b"\r\nActionID: " + sent.encode() + b"\r\n" if sent is not None else b"\r\n"
    return message.replace(old, new)
