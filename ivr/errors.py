"""The IVR's errors.

IvrError
├── AgiProtocolError          the peer sent something that is not FastAGI (or too much of it)
├── AgiCommandRefusedError    a command would carry CR/LF, an unsafe token or too many bytes (injection)
├── AgiSessionEndedError      the session cannot go on
│   ├── CallerHungUpError     the channel is gone (HANGUP line, 511 on a dead channel, result -1 on a read)
│   ├── AgiConnectionClosedError  the socket closed under us (EOF, reset)
│   └── AgiTimeoutError       a command got no reply in time
├── AgiCommandFailedError     Asterisk answered 510 (unknown command) or 520 (usage)
└── MenuConfigError           config/ivr.toml has problems; `problems` lists every one
"""

from __future__ import annotations


class IvrError(Exception):
    """Base of every IVR error."""


class AgiProtocolError(IvrError):
    """The peer's bytes are not FastAGI, or exceed a size limit."""


class AgiCommandRefusedError(IvrError, ValueError):
    """A command was refused before sending: CR/LF, an unsafe bare token or an oversized line."""


class AgiSessionEndedError(IvrError):
    """The AGI session cannot continue."""


class CallerHungUpError(AgiSessionEndedError):
    """The caller's channel hung up (or Asterisk ended the AGI): nothing more can be played."""


class AgiConnectionClosedError(AgiSessionEndedError):
    """The FastAGI socket closed before the expected bytes arrived."""


class AgiTimeoutError(AgiSessionEndedError):
    """No reply to a command (or no environment block) within its deadline."""

    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(f"no reply to {what} within {timeout_s:g} s")
        self.what = what
        self.timeout_s = timeout_s


class AgiCommandFailedError(IvrError):
    """Asterisk refused the command: 510 unknown command, or 520 with its usage text."""

    def __init__(self, command: str, code: int, message: str, usage: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command!r} failed with {code}: {message}")
        self.command = command
        self.code = code
        self.message = message
        self.usage = usage


class MenuConfigError(IvrError):
    """The IVR menu file has one or more problems; `problems` lists each in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid IVR menu:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
