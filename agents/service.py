"""Agent accounts: creating them, signing in and out, and who is who for the other features."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agents.errors import AuthenticationRequiredError, InvalidAccountError, InvalidCredentialsError
from agents.model import Agent, Role, Session, account_problems, hash_token, validate_interface
from agents.store import AccountStore

MAX_TOKEN_CHARS = 256


class AccountService:
    """Creates accounts, checks passwords, issues and resolves tokens, and names agents for others."""

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
        agent = await self._store.agent_for_token(hash_token(token), now)
        if agent is None:
            raise AuthenticationRequiredError(
                "Your session has expired or was signed out; please sign in again."
            )
        return agent

    async def sign_out(self, token: str) -> None:
        """Revoke one token."""
        await self._store.delete_token(hash_token(token))

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
        return await self._store.display_names(agent_ids)

    async def display_name_for_interface(self, interface: str) -> str | None:
        """Who sits behind a PBX interface (None when nobody's phone it is)."""
        return await self._store.display_name_for_interface(interface)

    async def interfaces_of(self, agent_id: int) -> list[str]:
        """The PBX interfaces that ring on this agent's desk, sorted (none for an unknown id)."""
        return await self._store.interfaces_of(agent_id)

    async def ids_for_usernames(self, usernames: Collection[str]) -> dict[str, int]:
        """Account ids of the given usernames (unknown usernames are left out)."""
        return await self._store.ids_for_usernames(usernames)
