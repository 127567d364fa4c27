"""Sans-I/O AMI framing: bytes from Asterisk in, messages out; actions in, bytes out.

The parser never touches a socket. The asyncio client (`cti.ami_client`) feeds it whatever a
read returned, in any chunk size; a message is decoded only once its terminating blank line
has arrived, so a UTF-8 character split across two reads is never damaged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence

from cti.errors import AmiInjectionError, AmiProtocolError

# Asterisk's manager reads an action line into a 1025-byte buffer and keeps at most 128
# headers (AST_MAX_MANHEADERS); anything longer is cut there, so we refuse it here.
MAX_ACTION_LINE_BYTES = 1024
MAX_ACTION_HEADERS = 128
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

_TERMINATOR = b"\r\n\r\n"


class MessageKind(enum.Enum):
    """What an AMI message is: the greeting line, an answer to an action, or an event."""

    BANNER = "banner"
    RESPONSE = "response"
    EVENT = "event"


class AmiMessage:
    """One AMI message: its headers in wire order, and a dict of them for lookups.

    When a header repeats (`ChanVariable`, `Output`, `Variable`), `fields` keeps the last
    value and `get` returns it too; `get_all` returns every one in order.
    """

    # Messages from the parser keep their (already validated) text and split it into headers
    # only when `headers` or `fields` is first read: most events are dropped after a look at
    # `name`, and `get` answers from the text directly.
    __slots__ = ("_fields", "_headers", "_text", "kind", "name")

    def __init__(self, kind: MessageKind, name: str, headers: Sequence[tuple[str, str]]) -> None:
        self.kind = kind
        self.name = name
        self._headers: tuple[tuple[str, str], ...] | None = tuple(headers)
        self._fields: dict[str, str] | None = dict(self._headers)
        self._text = ""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Every header as (key, value), in wire order."""
        headers = self._headers
        if headers is None:
            headers = self._headers = tuple(_header_pairs(self._text.removesuffix("\r\n\r\n")))
        return headers

    @property
    def fields(self) -> dict[str, str]:
        """The headers as a dict; a repeated key keeps its last value."""
        fields = self._fields
        if fields is None:
            fields = self._fields = dict(self.headers)
        return fields

    def get(self, key: str, default: str = "") -> str:
        """The value of header `key`, or `default` when it is absent."""
        fields = self._fields
        if fields is not None:
            return fields.get(key, default)
        # The text holds only `Key:value` lines joined by CRLF (and, for a message read whole,
        # its blank line), so the last line that starts with `key:` is exactly the one whose
        # value `fields` would keep.
        text = self._text
        _, found, rest = text.rpartition(f"\r\n{key}:")
        if not found:
            if not text.startswith(f"{key}:"):
                return default
            rest = text[len(key) + 1 :]
        if ":" in key:
            return default  # no header name holds a colon
        value = rest.partition("\r\n")[0]
        return value[1:] if value[:1] == " " else value

    def has(self, key: str, value: str) -> bool:
        """Whether `get(key) == value`; cheap when the value appears nowhere in the message."""
        if self._fields is None and value not in self._text:
            return False
        return self.get(key) == value

    def get_all(self, key: str) -> list[str]:
        """Every value of a header that may repeat, in wire order."""
        return [v for k, v in self.headers if k == key]

    @property
    def action_id(self) -> str | None:
        """The ActionID this message answers, if it carries one."""
        fields = self._fields
        if fields is not None:
            return fields.get("ActionID")
        # The AMI client asks this of every message; most events carry no ActionID at all.
        if "ActionID:" not in self._text:
            return None
        value = self.get("ActionID", "\r\n")  # CRLF ends every line, so no value is CRLF
        return None if value == "\r\n" else value

    def __repr__(self) -> str:
        return f"AmiMessage({self.kind.value}, {self.name!r}, {len(self.headers)} headers)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self.kind is other.kind and self.headers == other.headers

    __hash__ = None  # type: ignore[assignment]


class AmiParser:
    """Turns the byte stream Asterisk sends into `AmiMessage`s.

    The first line of a connection is the banner (`Asterisk Call Manager/11.0.0`); every
    later message is a block of `Key: value` lines ended by an empty line.
    """

    def __init__(self, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._buffer = b""
        self._expect_banner = True
        self._max_message_bytes = max_message_bytes
        # The banner is read and nothing is buffered, so a read may be one message on its own.
        self._idle = False

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Add bytes from the socket; return every message they complete."""
        if self._idle and data[-4:] == _TERMINATOR and len(data) <= self._max_message_bytes:
            # What a quiet PBX sends: each read one message, whole, as Asterisk wrote it. The
            # shape (see `_NOT_COLON_OR_LF`) ends in its only LF pair: one block, every line
            # with a colon. Anything else goes the general way, which decides exactly.
            shape = data.translate(None, _NOT_COLON_OR_LF)
            if not shape.partition(b"\n\n")[2]:
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    text = data.decode("utf-8", "replace")
                if "\r\n:" not in text:
                    key, _, name = text.partition("\r\n")[0].partition(": ")
                    if key == "Event" or key == "Response":
                        message = _new_message(AmiMessage)
                        message.kind = _EVENT if key == "Event" else _RESPONSE
                        message.name = name
                        message._headers = None
                        message._fields = None
                        message._text = text
                        return [message]
        return self._feed(data)

    def _feed(self, data: bytes) -> list[AmiMessage]:
        """Any other read: several messages, parts of them, the banner, or something odd."""
        self._idle = False  # until this read leaves nothing behind
        # What waits is kept as bytes: joining it to a read is one copy, and `bytes` scans faster
        # than `bytearray`; the size limit keeps the copies of a message that arrives in pieces small.
        buf = self._buffer + data if self._buffer else data
        messages: list[AmiMessage] = []
        start = 0
        if self._expect_banner:
            end = buf.find(b"\r\n")
            if end < 0:
                self._keep(buf)
                return messages
            messages.append(_parse_banner(buf[:end]))
            self._expect_banner = False
            start = end + 2
        last = buf.rfind(_TERMINATOR, start)
        if last < 0:
            self._keep(buf[start:])
            return messages
        complete = buf[start : last + 4] if start or last + 4 < len(buf) else buf
        blocks: list[str] = []
        if len(complete) <= self._max_message_bytes:
            # Every complete message at once: one decode, one split and a few scans, in C. The
            # terminators are ASCII, so decoding the whole equals decoding each block on its own.
            try:
                text = complete.decode()
            except UnicodeDecodeError:
                text = complete.decode("utf-8", "replace")
            if "\r\n:" not in text:
                blocks = text.split("\r\n\r\n")
                blocks.pop()
                shape = complete.translate(None, _NOT_COLON_OR_LF)
                if shape.count(b"\n\n") != len(blocks) or shape.find(b"\n\n\n") >= 0:
                    blocks = []
        self._buffer = buf[start:]  # what stays when a message is refused below
        if blocks:
            if messages:
                messages += _messages_from_blocks(blocks)
            else:
                messages = _messages_from_blocks(blocks)
            rest = buf[last + 4 :]
        else:
            rest = buf[self._feed_one_by_one(buf, messages, start) :]
        self._keep(rest)
        return messages

    def _keep(self, rest: bytes) -> None:
        """Hold the start of a message until the rest arrives."""
        self._buffer = rest
        self._idle = not rest
        self._check_size(len(rest))

    def _feed_one_by_one(self, buf: bytes, messages: list[AmiMessage], start: int) -> int:
        """The exact path for blocks the bulk check refused: each is sized, split and reported."""
        find = buf.find
        while True:
            end = find(_TERMINATOR, start)
            if end < 0:
                return start
            if end - start > self._max_message_bytes:
                self._check_size(end - start)
            messages.append(_parse_block(buf[start:end].decode("utf-8", "replace")))
            start = end + 4

    @property
    def buffered_bytes(self) -> int:
        """How many bytes wait for the rest of their message."""
        return len(self._buffer)

    def _check_size(self, size: int) -> None:
        if size > self._max_message_bytes:
            raise AmiProtocolError(
                f"AMI message exceeds {self._max_message_bytes} bytes without an end; "
                "the peer is not speaking AMI or is flooding us"
            )


# Every byte but ':' and LF. Deleting them leaves a read's shape: per line its colons and an LF,
# per blank line (the end of a message) one more LF. A line without a colon leaves two LFs in a
# row where no message ends, or three at the end of one, or an LF first; a bare LF inside a
# value only ever adds LFs, so it can make a check refuse a good line but never accept a bad
# one. A refused read takes the exact path (`_parse_block` per message), which decides. A line
# with an empty key (`: value`) has its colon and is found by looking for CRLF-colon; only a
# message's first line escapes both, and that one must read `Event: ` or `Response: ` to be
# taken as is.
_NOT_COLON_OR_LF = bytes(b for b in range(256) if b not in b":\n")


def _parse_banner(line: bytes) -> AmiMessage:
    text = line.decode("utf-8", "replace")
    name, sep, version = text.partition("/")
    if not sep or "Call Manager" not in name:
        raise AmiProtocolError(
            f"expected the AMI banner 'Asterisk Call Manager/<version>', got {text[:80]!r}"
        )
    return AmiMessage(MessageKind.BANNER, name, [("Banner", name), ("Version", version)])


def _header_pairs(block: str) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    append = headers.append
    for line in block.split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep or not key:
            raise AmiProtocolError(f"AMI header line without 'Key:' form: {line[:80]!r}")
        append((key, value[1:] if value.startswith(" ") else value))
    return headers


def _parse_block(block: str) -> AmiMessage:
    headers = _header_pairs(block)
    first_key, first_value = headers[0]
    if first_key == "Event":
        return AmiMessage(MessageKind.EVENT, first_value, headers)
    if first_key == "Response":
        return AmiMessage(MessageKind.RESPONSE, first_value, headers)
    raise AmiProtocolError(f"AMI message starts with {first_key!r}, not Event or Response")


_EVENT = MessageKind.EVENT  # enum member lookups are slow on 3.11; these run per message
_RESPONSE = MessageKind.RESPONSE


def _messages_from_blocks(blocks: list[str]) -> list[AmiMessage]:
    """Messages over blocks whose shape was checked; only each first line is split now."""
    messages: list[AmiMessage] = []
    append = messages.append
    new = _new_message
    for block in blocks:
        # Asterisk writes `Event: <name>` or `Response: <status>` first; anything else, and
        # odd spellings of those, take the exact path.
        key, _, name = block.partition("\r\n")[0].partition(": ")
        if key == "Event":
            kind = _EVENT
        elif key == "Response":
            kind = _RESPONSE
        else:
            append(_parse_block(block))
            continue
        message = new(AmiMessage)
        message.kind = kind
        message.name = name
        message._headers = None
        message._fields = None
        message._text = block
        append(message)
    return messages


_new_message = AmiMessage.__new__


FieldValue = str | Sequence[str]


def encode_action(action: str, fields: Mapping[str, FieldValue] | Iterable[tuple[str, str]] = ()) -> bytes:
    """Serialise an action; a sequence value repeats its header (`Variable: a=1`, `Variable: b=2`).

    Refuses any key or value holding CR or LF (AMI injection), and any line or header count
    Asterisk would silently truncate.
    """
    pairs = list(_pairs(fields))
    if len(pairs) + 1 > MAX_ACTION_HEADERS:
        raise AmiInjectionError(
            "Action", f"{len(pairs) + 1} headers exceed the limit of {MAX_ACTION_HEADERS}"
        )
    lines = [_line("Action", action)]
    lines.extend(_line(key, value) for key, value in pairs)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _pairs(fields: Mapping[str, FieldValue] | Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    items: Iterable[tuple[str, FieldValue]] = fields.items() if isinstance(fields, Mapping) else fields
    for key, value in items:
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, list | tuple):
            for one in value:
                yield key, one
        else:
            raise AmiInjectionError(key, f"value must be text, got {type(value).__name__}")


def _line(key: str, value: str) -> str:
    if not isinstance(value, str):
        raise AmiInjectionError(key, f"value must be text, got {type(value).__name__}")
    if not key or any(c in key for c in "\r\n: "):
        raise AmiInjectionError(key, "header names may not be empty or hold CR, LF, ':' or spaces")
    if "\r" in value or "\n" in value:
        raise AmiInjectionError(key, "value contains CR or LF")
    line = f"{key}: {value}"
    if len(line.encode("utf-8")) > MAX_ACTION_LINE_BYTES:
        raise AmiInjectionError(key, f"line longer than {MAX_ACTION_LINE_BYTES} bytes")
    return line
