"""FastAGI, sans I/O: bytes from Asterisk in, typed events out; typed commands in, bytes out.

Asterisk (22.10.1, see the recordings) opens the session with an environment block of
`agi_name: value` lines ended by an empty line, all LF-terminated. Then every command line
gets one reply: `200 result=<r> [(<data>)] [endpos=<n>]`, `510 …` (unknown command), `511 …`
(dead channel) or a multi-line `520-` usage block whose inner lines carry no prefix, ended by
`520 End of proper usage.`. Unsolicited, after a hangup (or the server's half-close),
Asterisk sends a bare `HANGUP` line.

Commands are built only through the functions below. res_agi splits a command line into
arguments on blanks, groups double-quoted text and honours backslash escapes, and reads at most
2047 bytes per command: longer lines are cut and the rest runs as a second command. So text is
always quoted and escaped, bare tokens are checked against a strict pattern, CR/LF/NUL are
refused and so is any line over the limit: caller input can never become a second command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.errors import AgiCommandRefusedError, AgiProtocolError

# res_agi's AGI_BUF_LEN is 2048 including the terminating NUL.
MAX_COMMAND_BYTES = 2047
DEFAULT_MAX_LINE_BYTES = 8192
MAX_ENVIRONMENT_LINES = 200
MAX_USAGE_LINES = 200

# `agi_name:` or `agi_name: value`; the value group always takes part (empty when absent).
_ENV_LINE = re.compile(r"agi_([a-z0-9_]{1,40}):(?= |$) ?(.*)")
_REPLY = re.compile(r"(\d{3})(?: (.*))?")
_RESULT = re.compile(r"result=(\S*)(.*)")
_ENDPOS = re.compile(r"(.*?)\s*endpos=(\d+)")
# Most replies are a bare number, perhaps with endpos: one match instead of three.
_NUMBER_RESULT = re.compile(r"200 result=(-?\d+)(?: endpos=(\d+))?")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
# A sound file as Playback() names it: relative to the sounds directory or absolute, no extension.
SOUND_NAME = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./-]{0,199}")
_APPLICATION = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_SAFE_BARE = re.compile(r"[A-Za-z0-9_./:@+=-]{1,200}")
_DIGITS = re.compile(r"[0-9*#]{0,12}")
_FORBIDDEN = ("\r", "\n", "\x00")


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """Who is calling and where from: the session's environment block, in call-center names."""

    channel: str
    unique_id: str
    caller_number: str
    caller_name: str
    language: str
    channel_type: str
    context: str
    extension: str
    priority: str
    dialled_number: str | None
    redirecting_number: str | None
    request: str
    script: str
    account_code: str
    asterisk_version: str
    arguments: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply to a command: its code, the raw result, the parenthesised data and endpos."""

    code: int
    result: str | None = None
    data: str | None = None
    endpos: int | None = None
    message: str = ""
    usage: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The command ran (code 200); what it achieved is in `result`."""
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        """The result as a number (-1 failure, 0, a digit's ASCII code, …), or None if it is not one."""
        if self.result is None:
            return None
        try:
            return int(self.result)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """The unsolicited `HANGUP` line: the channel hung up, or Asterisk saw our half-close."""


AgiEvent = AgiEnvironment | AgiReply | HangupNotice

_UNKNOWN = "unknown"
_ARGUMENT = re.compile(r"arg_\d+")
# The environment lines AgiEnvironment names; the others go to `extra`.
_KNOWN_VARIABLES = frozenset(
    {
        "channel",
        "uniqueid",
        "callerid",
        "calleridname",
        "language",
        "type",
        "context",
        "extension",
        "priority",
        "dnid",
        "rdnis",
        "request",
        "network_script",
        "accountcode",
        "version",
    }
)


def _environment(values: dict[str, str]) -> AgiEnvironment:
    missing = [name for name in ("channel", "uniqueid") if not values.get(name)]
    if missing:
        raise AgiProtocolError(f"environment block lacks {', '.join('agi_' + m for m in missing)}")
    arguments = tuple(
        values[key]
        for key in sorted(
            (k for k in values if k.startswith("arg_") and _ARGUMENT.fullmatch(k)), key=lambda k: int(k[4:])
        )
    )

    def plain(name: str) -> str:
        value = values.get(name, "")
        return "" if value == _UNKNOWN else value

    def optional(name: str) -> str | None:
        return plain(name) or None

    return AgiEnvironment(
        channel=values["channel"],
        unique_id=values["uniqueid"],
        caller_number=plain("callerid"),
        caller_name=plain("calleridname"),
        language=values.get("language", ""),
        channel_type=values.get("type", ""),
        context=values.get("context", ""),
        extension=values.get("extension", ""),
        priority=values.get("priority", ""),
        dialled_number=optional("dnid"),
        redirecting_number=optional("rdnis"),
        request=values.get("request", ""),
        script=values.get("network_script", ""),
        account_code=values.get("accountcode", ""),
        asterisk_version=values.get("version", ""),
        arguments=arguments,
        extra={k: v for k, v in values.items() if k not in _KNOWN_VARIABLES and not k.startswith("arg_")},
    )


def parse_reply(line: str) -> AgiReply:
    """One complete single-line reply (not the 520 block): `200 result=…`, `510 …`, `511 …`."""
    number = _NUMBER_RESULT.fullmatch(line)
    if number is not None:
        value, position = number.groups()
        return AgiReply(200, value, None, None if position is None else int(position))
    match = _REPLY.fullmatch(line)
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
    code, rest = int(match.group(1)), match.group(2) or ""
    if code != 200:
        return AgiReply(code, message=rest)
    result = _RESULT.fullmatch(rest)
    if result is None:
        raise AgiProtocolError(f"200 reply without result=: {line[:80]!r}")
    value, tail = result.group(1), result.group(2).strip()
    endpos: int | None = None
    ended = _ENDPOS.fullmatch(tail)
    if ended is not None:
        tail, endpos = ended.group(1).strip(), int(ended.group(2))
    data: str | None = None
    if tail.startswith("(") and tail.endswith(")"):
        data = tail[1:-1]
    elif tail:
        data = tail
    return AgiReply(200, value, data, endpos)


class AgiParser:
    """Turns the bytes Asterisk sends on one FastAGI connection into events (`feed(data) -> events`)."""

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._max_line_bytes = max_line_bytes
        self._environment: dict[str, str] | None = {}
        self._usage: list[str] | None = None
        self._usage_head = ""

    @property
    def has_environment(self) -> bool:
        """The environment block has been read completely."""
        return self._environment is None

    def feed(self, data: bytes) -> list[AgiEvent]:
        """Take the next bytes (any chunking) and return the events they complete."""
        buffer = self._buffer
        end = data.rfind(b"\n")
        if end < 0:
            buffer += data
            if len(buffer) > self._max_line_bytes:
                raise AgiProtocolError(f"a line longer than {self._max_line_bytes} bytes")
            return []
        complete, rest = data[:end], data[end + 1 :]
        if buffer:
            complete = bytes(buffer) + complete
            buffer.clear()
        # LF never occurs inside a UTF-8 sequence: the complete lines decode as one text, and a
        # character split across reads waits in the buffer with the rest of its line.
        if len(complete) > self._max_line_bytes and any(
            len(raw) > self._max_line_bytes for raw in complete.split(b"\n")
        ):
            raise AgiProtocolError(f"a line longer than {self._max_line_bytes} bytes")
        events: list[AgiEvent] = []
        text = complete.decode("utf-8", "replace")
        lines = text.split("\n")
        if "\r" in text:
            lines = [line.removesuffix("\r") for line in lines]
        taken = 0 if self._environment is None else self._environment_lines(lines, events)
        for line in lines[taken:]:
            event = self._line(line)
            if event is not None:
                events.append(event)
        if len(rest) > self._max_line_bytes:
            raise AgiProtocolError(f"a line longer than {self._max_line_bytes} bytes")
        buffer += rest
        return events

    def _line(self, line: str) -> AgiEvent | None:
        if self._usage is not None:
            if line.startswith("520 "):
                reply = AgiReply(520, message=self._usage_head, usage=tuple(self._usage))
                self._usage = None
                return reply
            if len(self._usage) >= MAX_USAGE_LINES:
                raise AgiProtocolError(f"a 520 usage text longer than {MAX_USAGE_LINES} lines")
            self._usage.append(line)
            return None
        if line == "HANGUP":
            return HangupNotice()
        if line.startswith("520-"):
            self._usage, self._usage_head = [], line[4:]
            return None
        return parse_reply(line)

    def _environment_lines(self, lines: list[str], events: list[AgiEvent]) -> int:
        """Take the environment lines at the start of `lines` (and the blank line ending them); how many."""
        values = self._environment
        assert values is not None
        end = lines.index("") if "" in lines else len(lines)
        block = lines[:end]
        # The 20-odd lines of a block are matched in one call rather than one Python step each.
        matches = list(map(_ENV_LINE.fullmatch, block))
        if None in matches:
            raise AgiProtocolError(f"not an agi_ environment line: {block[matches.index(None)][:80]!r}")
        values.update({match[1]: match[2] for match in matches if match is not None})
        if len(values) > MAX_ENVIRONMENT_LINES:
            raise AgiProtocolError(f"an environment block longer than {MAX_ENVIRONMENT_LINES} lines")
        if end == len(lines):
            return end
        self._environment = None
        events.append(_environment(values))
        return end + 1


# ------------------------------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True)
class AgiCommand:
    """One command line ready to send; `wait_s` is how long Asterisk may take by design (digit timeouts)."""

    verb: str
    line: bytes
    wait_s: float = 0.0

    @property
    def text(self) -> str:
        """The line without its LF, for logs and errors."""
        return self.line.decode("utf-8", "replace").rstrip("\n")


def _checked(value: str, what: str) -> str:
    if any(c in value for c in _FORBIDDEN):
        raise AgiCommandRefusedError(f"{what} contains CR, LF or NUL: refused")
    return value


def quote(text: str) -> str:
    """`text` as one AGI argument: in double quotes, with `"` and `\\` escaped; CR/LF refused."""
    _checked(text, "text")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bare(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(_checked(value, what)):
        raise AgiCommandRefusedError(f"{value[:60]!r} is not a valid {what}")
    return value


def _number(value: int, low: int, high: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AgiCommandRefusedError(f"{value!r} is not a {what} in {low}..{high}")
    return str(value)


def _command(verb: str, *args: str, wait_s: float = 0.0) -> AgiCommand:
    line = " ".join((verb, *args)).encode("utf-8") + b"\n"
    if len(line) > MAX_COMMAND_BYTES:
        raise AgiCommandRefusedError(
            f"{verb} would be {len(line)} bytes; Asterisk reads at most {MAX_COMMAND_BYTES}"
        )
    return AgiCommand(verb, line, wait_s)


def answer() -> AgiCommand:
    """ANSWER the channel."""
    return _command("ANSWER")


def hangup() -> AgiCommand:
    """HANGUP the channel."""
    return _command("HANGUP")


def noop() -> AgiCommand:
    """NOOP: a round trip that does nothing (answers 200 even on a dead channel)."""
    return _command("NOOP")


def channel_status() -> AgiCommand:
    """CHANNEL STATUS of the session's channel (6 = up)."""
    return _command("CHANNEL STATUS")


def verbose(message: str, level: int = 1) -> AgiCommand:
    """VERBOSE: write `message` to the Asterisk console at `level`."""
    return _command("VERBOSE", quote(message), _number(level, 1, 4, "verbose level"))


def set_variable(name: str, value: str | int) -> AgiCommand:
    """SET VARIABLE on the channel; numbers go bare, text always quoted."""
    shown = _number(value, -(2**31), 2**31 - 1, "number") if isinstance(value, int) else quote(value)
    return _command("SET VARIABLE", _bare(name, _VARIABLE_NAME, "variable name"), shown)


def get_variable(name: str) -> AgiCommand:
    """GET VARIABLE of the channel (`200 result=1 (value)`, or `result=0` when unset)."""
    return _command("GET VARIABLE", _bare(name, _VARIABLE_NAME, "variable name"))


def get_full_variable(expression: str) -> AgiCommand:
    """GET FULL VARIABLE: evaluate a dialplan expression such as `${CHANNEL(linkedid)}`."""
    return _command("GET FULL VARIABLE", quote(expression))


def stream_file(sound: str, escape_digits: str = "") -> AgiCommand:
    """STREAM FILE: play a sound (no extension); a digit in `escape_digits` interrupts it."""
    return _command(
        "STREAM FILE",
        _bare(sound, SOUND_NAME, "sound file name"),
        quote(_bare(escape_digits, _DIGITS, "escape digit list")),
    )


def wait_for_digit(timeout_ms: int) -> AgiCommand:
    """WAIT FOR DIGIT up to `timeout_ms` (never the blocking -1)."""
    timeout = _number(timeout_ms, 0, 600_000, "digit timeout (ms)")
    return _command("WAIT FOR DIGIT", timeout, wait_s=timeout_ms / 1000)


def get_data(sound: str, timeout_ms: int, max_digits: int) -> AgiCommand:
    """GET DATA: play `sound` and collect up to `max_digits` digits (`#` ends early)."""
    return _command(
        "GET DATA",
        _bare(sound, SOUND_NAME, "sound file name"),
        _number(timeout_ms, 0, 600_000, "digit timeout (ms)"),
        _number(max_digits, 1, 64, "digit count"),
        # Every digit may take up to the timeout, once the prompt has played.
        wait_s=timeout_ms * max_digits / 1000,
    )


def say_number(number: int, escape_digits: str = "") -> AgiCommand:
    """SAY NUMBER in the channel's language."""
    return _command(
        "SAY NUMBER",
        _number(number, 0, 10**15, "number to say"),
        quote(_bare(escape_digits, _DIGITS, "escape digit list")),
    )


def say_digits(digits: str, escape_digits: str = "") -> AgiCommand:
    """SAY DIGITS one by one (a ticket or customer number)."""
    return _command(
        "SAY DIGITS",
        _bare(digits, re.compile(r"[0-9]{1,40}"), "digit string"),
        quote(_bare(escape_digits, _DIGITS, "escape digit list")),
    )


def exec_application(application: str, options: str = "") -> AgiCommand:
    """EXEC a dialplan application; options go bare when they are a plain token, else quoted."""
    name = _bare(application, _APPLICATION, "application name")
    if not options:
        return _command("EXEC", name)
    shown = options if _SAFE_BARE.fullmatch(options) else quote(options)
    return _command("EXEC", name, shown)
