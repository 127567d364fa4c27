"""Accounts, their interfaces and sign-in tokens in PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import asyncpg

from agents.errors import DuplicateAccountError, InvalidAccountError
from agents.model import Agent, Role

Db = asyncpg.Pool | asyncpg.Connection

_AGENT_COLUMNS = """
    a.id, a.username, a.display_name, a.role,
    COALESCE((SELECT array_agg(i.interface ORDER BY i.interface)
              FROM agent_interfaces i WHERE i.agent_id = a.id), '{}') AS interfaces
"""


# No row comes back when the username is taken (ON CONFLICT DO NOTHING).
_INSERT = """
    WITH a AS (
        INSERT INTO agents (username, display_name, password_hash, role)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (username) DO NOTHING
        RETURNING *
    ), i AS (
        INSERT INTO agent_interfaces (interface, agent_id)
        SELECT interface, a.id FROM a, unnest($5::text[]) AS interface
    )
    SELECT a.id, a.username, a.display_name, a.role,
           ARRAY(SELECT unnest($5::text[]) ORDER BY 1) AS interfaces
    FROM a
"""


def _agent(row: asyncpg.Record) -> Agent:
    return Agent(row["id"], row["username"], row["display_name"], Role(row["role"]), tuple(row["interfaces"]))


class AccountStore:
    """The only place that reads and writes accounts."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def create(
        self, username: str, display_name: str, password_hash: str, role: str, interfaces: Sequence[str]
    ) -> Agent:
        """Insert an account and its interfaces in one statement (all or nothing)."""
        owner = await self._db.fetchval(
            "SELECT a.username FROM agent_interfaces i JOIN agents a ON a.id = i.agent_id"
            " WHERE i.interface = ANY($1::text[]) LIMIT 1",
            list(interfaces),
        )
        if owner is not None:
            raise InvalidAccountError(
                {"interface": f"already assigned to {owner}; one interface rings one agent"}
            )
        try:
            row = await self._db.fetchrow(
                _INSERT, username, display_name, password_hash, role, list(interfaces)
            )
        except asyncpg.UniqueViolationError:
            # Another session took the interface between the check and the insert.
            raise InvalidAccountError({"interface": "was just assigned to someone else; try again"}) from None
        if row is None:
            raise DuplicateAccountError(username)
        return _agent(row)

    async def credentials(self, username: str) -> tuple[Agent, str] | None:
        """The account and its password hash, for signing in."""
        row = await self._db.fetchrow(
            f"SELECT {_AGENT_COLUMNS}, a.password_hash FROM agents a WHERE a.username = $1", username
        )
        return (_agent(row), row["password_hash"]) if row else None

    async def add_token(self, token_hash: bytes, agent_id: int, expires_at: datetime) -> None:
        """Keep a new token's hash, and drop this agent's expired ones."""
        await self._db.execute("DELETE FROM auth_tokens WHERE agent_id = $1 AND expires_at < now()", agent_id)
        await self._db.execute(
            "INSERT INTO auth_tokens (token_hash, agent_id, expires_at) VALUES ($1, $2, $3)",
            token_hash,
            agent_id,
            expires_at,
        )

    async def agent_for_token(self, token_hash: bytes, now: datetime) -> tuple[Agent, datetime] | None:
        """The agent behind an unexpired token, and when the token expires."""
        row = await self._db.fetchrow(
            f"SELECT {_AGENT_COLUMNS}, t.expires_at FROM auth_tokens t JOIN agents a ON a.id = t.agent_id"
            " WHERE t.token_hash = $1 AND t.expires_at > $2",
            token_hash,
            now,
        )
        return (_agent(row), row["expires_at"]) if row else None

    async def delete_token(self, token_hash: bytes) -> None:
        """Revoke a token."""
        await self._db.execute("DELETE FROM auth_tokens WHERE token_hash = $1", token_hash)

    async def list_agents(self) -> list[Agent]:
        """Every account, by username."""
        rows = await self._db.fetch(f"SELECT {_AGENT_COLUMNS} FROM agents a ORDER BY a.username")
        return [_agent(row) for row in rows]

    async def names_by_interface(self) -> dict[str, str]:
        """Who sits behind each PBX interface, for the customers' timelines."""
        rows = await self._db.fetch(
            "SELECT i.interface, a.display_name FROM agent_interfaces i JOIN agents a ON a.id = i.agent_id"
        )
        return {row["interface"]: row["display_name"] for row in rows}

    async def interfaces_of(self, agent_id: int) -> list[str]:
        """The PBX interfaces that ring on this agent's desk, sorted (none for an unknown id)."""
        rows = await self._db.fetch(
            "SELECT interface FROM agent_interfaces WHERE agent_id = $1 ORDER BY interface", agent_id
        )
        return [row["interface"] for row in rows]

    async def display_names(self, agent_ids: Collection[int]) -> dict[int, str]:
        """Display names of the given accounts (unknown ids are left out)."""
        if not agent_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT id, display_name FROM agents WHERE id = ANY($1::bigint[])", list(set(agent_ids))
        )
        return {row["id"]: row["display_name"] for row in rows}

    async def ids_for_usernames(self, usernames: Collection[str]) -> dict[str, int]:
        """Account ids of the given usernames (unknown usernames are left out)."""
        if not usernames:
            return {}
        rows = await self._db.fetch(
            "SELECT username, id FROM agents WHERE username = ANY($1::text[])", list(set(usernames))
        )
        return {row["username"]: row["id"] for row in rows}
