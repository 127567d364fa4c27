"""People who sign in (pure): roles, accounts, sessions, and the rules of usernames and interfaces."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from agents.errors import InvalidAccountError

USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
MAX_DISPLAY_NAME_CHARS = 200
MAX_INTERFACE_CHARS = 128
# Interfaces are written into AMI actions later (QueueAdd, Originate): no CR/LF, no spaces.
INTERFACE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*/[^\s,;|]+$")


class Role(enum.Enum):
    """What an account may do: agents take calls, supervisors watch, admins configure."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Agent:
    """A signed-in person and the PBX interfaces that ring on their desk."""

    id: int
    username: str
    display_name: str
    role: Role
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class Session:
    """A freshly issued token (shown once) for an agent."""

    token: str
    agent: Agent
    expires_at: datetime


def validate_interface(raw: str) -> str:
    """Return a PBX interface such as `PJSIP/1001` or `Local/1001@agents`, or InvalidAccountError."""
    value = raw.strip()
    if len(value) > MAX_INTERFACE_CHARS or not INTERFACE.match(value):
        raise InvalidAccountError(
            {"interface": f"{raw!r} is not a PBX interface like PJSIP/1001 or Local/1001@agents"}
        )
    return value


def account_problems(username: str, display_name: str, password: str) -> dict[str, str]:
    """What is wrong with a new account's username, display name and password (empty: nothing)."""
    problems: dict[str, str] = {}
    if not USERNAME.match(username):
        problems["username"] = "2-64 characters of a-z, 0-9, '.', '_' or '-'"
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        problems["password"] = f"between {MIN_PASSWORD_CHARS} and {MAX_PASSWORD_CHARS} characters"
    if not display_name.strip() or len(display_name) > MAX_DISPLAY_NAME_CHARS:
        problems["display_name"] = f"1-{MAX_DISPLAY_NAME_CHARS} characters"
    return problems


def hash_token(token: str) -> bytes:
    """The SHA-256 under which a token is stored; tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode("utf-8")).digest()
