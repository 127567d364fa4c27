"""Agent accounts: creating them, signing in and out, and who is who for the other features."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agents.errors import AuthenticationRequiredError, InvalidAccountError, InvalidCredentialsError
from agents.model import Agent, Role, Session, account_problems, hash_token, validate_interface
from agents.store import AccountStore

MAX_TOKEN_CHARS = 256
# Every request names its agent by token, and most name people by id: both are remembered briefly.
# A token signed out on this node stops working at once (it is forgotten); one revoked on another
# node, within TOKEN_CACHE_S. Accounts are never renamed, so names only age out to bound the memory.
TOKEN_CACHE_S = 5.0
NAME_CACHE_S = 300.0
MAX_REMEMBERED = 10_000
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True)
class _KnownToken:
    agent: Agent
    expires_at: datetime
    checked_at: datetime


class AccountService:
    """Creates accounts, checks passwords, issues and resolves tokens, and names agents for others."""

    def __init__(
        self,
        store: AccountStore,
        *,
        token_ttl_s: int,
        hasher: PasswordHasher | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = timedelta(seconds=token_ttl_s)
        self._hasher = hasher or PasswordHasher()
        self._monotonic = monotonic
        self._tokens: dict[bytes, _KnownToken] = {}
        self._names: dict[int, tuple[str, float]] = {}
        # Compared against when the username is unknown, so both paths cost the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def create_agent(
        self, *, username: str, display_name: str, password: str, role: Role, interfaces: list[str]
    ) -> Agent:
        """Validate and store a new account; the password is kept only as an argon2 hash.

        InvalidAccountError lists every problem; DuplicateAccountError when the username is taken.
        """
        problems = account_problems(username, display_name, password)
        clean: list[str] = []
        for raw in interfaces:
            try:
                clean.append(validate_interface(raw))
            except InvalidAccountError as exc:
                problems.update(exc.problems)
        if problems:
            raise InvalidAccountError(problems)
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
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationRequiredError("This session is not valid; please sign in again.")
        token_hash = hash_token(token)
        known = self._tokens.get(token_hash)
        if (
            known is not None
            and now < known.expires_at
            and timedelta(0) <= now - known.checked_at < timedelta(seconds=TOKEN_CACHE_S)
        ):
            return known.agent
        found = await self._store.agent_for_token(token_hash, now)
        if found is None:
            self._tokens.pop(token_hash, None)
            raise AuthenticationRequiredError(
                "Your session has expired or was signed out; please sign in again."
            )
        agent, expires_at = found
        _remember(self._tokens, token_hash, _KnownToken(agent, expires_at, now))
        return agent

    async def sign_out(self, token: str) -> None:
        """Revoke one token (on this node it stops working at once)."""
        token_hash = hash_token(token)
        self._tokens.pop(token_hash, None)
        await self._store.delete_token(token_hash)

    async def list_agents(self) -> list[Agent]:
        """Every account, by username."""
        return await self._store.list_agents()

    async def agent_named(self, username: str) -> Agent | None:
        """The account with this username, or None."""
        found = await self._store.credentials(username)
        return found[0] if found else None

    async def desk_agents(self) -> list[Agent]:
        """The accounts that take calls (role agent: supervisors and admins watch and configure)."""
        return [a for a in await self._store.list_agents() if a.role is Role.AGENT]

    async def display_names(self, agent_ids: Collection[int]) -> dict[int, str]:
        """Display names of the given accounts, to show who did what (unknown ids are left out)."""
        now = self._monotonic()
        names: dict[int, str] = {}
        missing = []
        for agent_id in set(agent_ids):
            known = self._names.get(agent_id)
            if known is not None and 0 <= now - known[1] < NAME_CACHE_S:
                names[agent_id] = known[0]
            else:
                missing.append(agent_id)
        if missing:
            found = await self._store.display_names(missing)
            for agent_id, name in found.items():
                _remember(self._names, agent_id, (name, now))
            names.update(found)
        return names

    async def names_by_interface(self) -> dict[str, str]:
        """Who sits behind each PBX interface (a phone nobody has is left out)."""
        return await self._store.names_by_interface()

    async def interfaces_of(self, agent_id: int) -> list[str]:
        """The PBX interfaces that ring on this agent's desk, sorted (none for an unknown id)."""
        return await self._store.interfaces_of(agent_id)

    async def ids_for_usernames(self, usernames: Collection[str]) -> dict[str, int]:
        """Account ids of the given usernames (unknown usernames are left out)."""
        return await self._store.ids_for_usernames(usernames)


def _remember(memory: dict[_Key, _Value], key: _Key, value: _Value) -> None:
    """Keep `value` under `key`, forgetting the oldest entry when the memory is full."""
    memory.pop(key, None)
    if len(memory) >= MAX_REMEMBERED:
        del memory[next(iter(memory))]
    memory[key] = value
