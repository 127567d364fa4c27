"""Agent accounts: roles, password hashing, sign-in and session tokens."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from web_agent.errors import AuthenticationRequiredError, InvalidCredentialsError, ValidationFailedError

if TYPE_CHECKING:
    from web_agent.store import AccountStore

USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
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
    """Return a PBX interface such as `PJSIP/1001` or `Local/1001@agents`, or raise."""
    value = raw.strip()
    if len(value) > MAX_INTERFACE_CHARS or not INTERFACE.match(value):
        raise ValidationFailedError(
            {"interface": f"{raw!r} is not a PBX interface like PJSIP/1001 or Local/1001@agents"}
        )
    return value


def hash_token(token: str) -> bytes:
    """The SHA-256 under which a token is stored; tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class AccountService:
    """Creates accounts, checks passwords and issues and resolves tokens."""

    def __init__(
        self, store: AccountStore, *, token_ttl_s: int, hasher: PasswordHasher | None = None
    ) -> None:
        self._store = store
        self._ttl = timedelta(seconds=token_ttl_s)
        self._hasher = hasher or PasswordHasher()
        # Compared against when the username is unknown, so both paths cost the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def create_agent(
        self, *, username: str, display_name: str, password: str, role: Role, interfaces: list[str]
    ) -> Agent:
        """Validate and store a new account; the password is kept only as an argon2 hash."""
        problems: dict[str, str] = {}
        if not USERNAME.match(username):
            problems["username"] = "2-64 characters of a-z, 0-9, '.', '_' or '-'"
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            problems["password"] = f"between {MIN_PASSWORD_CHARS} and {MAX_PASSWORD_CHARS} characters"
        if not display_name.strip() or len(display_name) > 200:
            problems["display_name"] = "1-200 characters"
        clean: list[str] = []
        for raw in interfaces:
            try:
                clean.append(validate_interface(raw))
            except ValidationFailedError as exc:
                problems.update(exc.details)
        if problems:
            raise ValidationFailedError(problems)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        return await self._store.create(username, display_name.strip(), password_hash, role.value, clean)

    async def sign_in(self, username: str, password: str, now: datetime) -> Session:
        """Check the password and issue a new token; wrong user and wrong password look the same."""
        found = await self._store.credentials(username)
        stored_hash = found[1] if found else self._dummy_hash
        try:
            await asyncio.to_thread(self._hasher.verify, stored_hash, password)
        except (VerificationError, InvalidHashError):
            raise InvalidCredentialsError() from None
        if found is None:
            raise InvalidCredentialsError()
        agent = found[0]
        token = secrets.token_urlsafe(32)
        expires_at = now + self._ttl
        await self._store.add_token(hash_token(token), agent.id, expires_at)
        return Session(token, agent, expires_at)

    async def agent_for_token(self, token: str | None, now: datetime) -> Agent:
        """The agent a token belongs to, or AuthenticationRequiredError."""
        if not token:
            raise AuthenticationRequiredError("Please sign in first.")
        if len(token) > 256:
            raise AuthenticationRequiredError("This session is not valid; please sign in again.")
        agent = await self._store.agent_for_token(hash_token(token), now)
        if agent is None:
            raise AuthenticationRequiredError(
                "Your session has expired or was signed out; please sign in again."
            )
        return agent

    async def display_names(self, agent_ids: Collection[int]) -> dict[int, str]:
        """Display names of the given accounts, to show who did what (unknown ids are left out)."""
        return await self._store.display_names(agent_ids)

    async def sign_out(self, token: str) -> None:
        """Revoke one token."""
        await self._store.delete_token(hash_token(token))
