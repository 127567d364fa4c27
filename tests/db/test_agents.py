"""Accounts on a real PostgreSQL: hashing, sign-in, tokens, interfaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from agents import (
    AccountService,
    AuthenticationRequiredError,
    DuplicateAccountError,
    InvalidAccountError,
    InvalidCredentialsError,
    Role,
)
from agents.model import hash_token
from agents.service import NAME_CACHE_S, TOKEN_CACHE_S
from agents.store import AccountStore

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# Cheap parameters keep the suite fast; production uses argon2-cffi's defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def service(db: asyncpg.Connection) -> AccountService:
    return AccountService(AccountStore(db), token_ttl_s=3600, hasher=FAST)


async def test_password_is_stored_only_as_an_argon2_hash(db: asyncpg.Connection) -> None:
    accounts = service(db)
    agent = await accounts.create_agent(
        username="alice",
        display_name="Alice",
        password="correct horse",
        role=Role.AGENT,
        interfaces=["Local/1001@agents", "PJSIP/1001"],
    )
    assert agent.interfaces == ("Local/1001@agents", "PJSIP/1001")
    stored = await db.fetchval("SELECT password_hash FROM agents WHERE id = $1", agent.id)
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


async def test_sign_in_issues_a_token_that_resolves_until_it_expires(db: asyncpg.Connection) -> None:
    accounts = service(db)
    await accounts.create_agent(
        username="bob", display_name="Bob", password="hunter2hunter2", role=Role.SUPERVISOR, interfaces=[]
    )
    session = await accounts.sign_in("bob", "hunter2hunter2", NOW)
    assert session.expires_at == NOW + timedelta(hours=1)
    assert (await accounts.agent_for_token(session.token, NOW)).username == "bob"
    stored = await db.fetchval(
        "SELECT count(*) FROM auth_tokens WHERE token_hash = $1", hash_token(session.token)
    )
    assert stored == 1
    raw = await db.fetchval("SELECT count(*) FROM auth_tokens WHERE token_hash = $1", session.token.encode())
    assert raw == 0
    with pytest.raises(AuthenticationRequiredError, match="expired"):
        await accounts.agent_for_token(session.token, NOW + timedelta(hours=2))
    await accounts.sign_out(session.token)
    with pytest.raises(AuthenticationRequiredError):
        await accounts.agent_for_token(session.token, NOW)


@pytest.mark.parametrize(("username", "password"), [("carol", "wrong-password"), ("nobody", "whatever123")])
async def test_wrong_user_and_wrong_password_fail_the_same_way(
    db: asyncpg.Connection, username: str, password: str
) -> None:
    accounts = service(db)
    await accounts.create_agent(
        username="carol", display_name="Carol", password="right-password", role=Role.AGENT, interfaces=[]
    )
    with pytest.raises(InvalidCredentialsError, match="Wrong username or password"):
        await accounts.sign_in(username, password, NOW)


@pytest.mark.parametrize("token", [None, "", "x" * 300, "not-a-token"])
async def test_missing_or_bogus_tokens_are_refused(db: asyncpg.Connection, token: str | None) -> None:
    with pytest.raises(AuthenticationRequiredError):
        await service(db).agent_for_token(token, NOW)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"username": "A B"}, "username"),
        ({"password": "short"}, "password"),
        ({"display_name": " "}, "display_name"),
        ({"interfaces": ["Local/1001@agents\r\nAction: Originate"]}, "interface"),
        ({"interfaces": ["1001"]}, "interface"),
    ],
)
async def test_invalid_accounts_are_refused_with_the_field_named(
    db: asyncpg.Connection, fields: dict[str, object], problem: str
) -> None:
    values: dict[str, object] = {
        "username": "dave",
        "display_name": "Dave",
        "password": "long-enough-pw",
        "role": Role.AGENT,
        "interfaces": ["PJSIP/1004"],
    }
    values.update(fields)
    with pytest.raises(InvalidAccountError) as caught:
        await service(db).create_agent(**values)  # type: ignore[arg-type]
    assert problem in caught.value.problems
    assert await db.fetchval("SELECT count(*) FROM agents") == 0


async def test_duplicate_username_and_shared_interface_are_refused(db: asyncpg.Connection) -> None:
    accounts = service(db)
    await accounts.create_agent(
        username="erin",
        display_name="Erin",
        password="long-enough-pw",
        role=Role.AGENT,
        interfaces=["PJSIP/2000"],
    )
    with pytest.raises(DuplicateAccountError):
        await accounts.create_agent(
            username="erin", display_name="Erin 2", password="long-enough-pw", role=Role.AGENT, interfaces=[]
        )
    with pytest.raises(InvalidAccountError, match="already assigned to erin"):
        await accounts.create_agent(
            username="frank",
            display_name="Frank",
            password="long-enough-pw",
            role=Role.AGENT,
            interfaces=["PJSIP/2000"],
        )
    assert await db.fetchval("SELECT count(*) FROM agents WHERE username = 'frank'") == 0
    assert (await AccountStore(db).names_by_interface())["PJSIP/2000"] == "Erin"


async def test_other_features_learn_who_is_who_from_the_agents(db: asyncpg.Connection) -> None:
    accounts = service(db)
    alice = await accounts.create_agent(
        username="alice",
        display_name="Alice Nguyen",
        password="long-enough-pw",
        role=Role.AGENT,
        interfaces=["PJSIP/1001", "Local/1001@agents"],
    )
    carol = await accounts.create_agent(
        username="carol",
        display_name="Carol Le",
        password="long-enough-pw",
        role=Role.SUPERVISOR,
        interfaces=["PJSIP/1009"],
    )
    # Only agents take calls: supervisors watch, admins configure.
    assert [a.username for a in await accounts.desk_agents()] == ["alice"]
    assert await accounts.display_names([alice.id, carol.id, 999]) == {
        alice.id: "Alice Nguyen",
        carol.id: "Carol Le",
    }
    assert await accounts.display_names([]) == {}
    assert await accounts.ids_for_usernames(["carol", "nobody"]) == {"carol": carol.id}
    assert await accounts.ids_for_usernames([]) == {}
    assert await accounts.names_by_interface() == {
        "Local/1001@agents": "Alice Nguyen",
        "PJSIP/1001": "Alice Nguyen",
        "PJSIP/1009": "Carol Le",
    }
    assert await accounts.interfaces_of(alice.id) == ["Local/1001@agents", "PJSIP/1001"]
    assert await accounts.interfaces_of(999) == []
    assert await accounts.agent_named("carol") == carol
    assert await accounts.agent_named("nobody") is None


async def test_a_token_is_remembered_briefly_and_a_sign_out_here_ends_it_at_once(
    db: asyncpg.Connection,
) -> None:
    accounts = service(db)
    await accounts.create_agent(
        username="dana", display_name="Dana", password="long-enough-pw", role=Role.AGENT, interfaces=[]
    )
    # Signing in drops the agent's tokens expired by the database's clock: tokens of today.
    now = datetime.now(UTC)
    first = await accounts.sign_in("dana", "long-enough-pw", now)
    second = await accounts.sign_in("dana", "long-enough-pw", now)
    assert (await accounts.agent_for_token(first.token, now)).username == "dana"
    assert (await accounts.agent_for_token(second.token, now)).username == "dana"
    # Revoked by another node (its row deleted): this node still knows it for a moment, no longer.
    await db.execute("DELETE FROM auth_tokens WHERE token_hash = $1", hash_token(first.token))
    soon = now + timedelta(seconds=TOKEN_CACHE_S / 2)
    assert (await accounts.agent_for_token(first.token, soon)).username == "dana"
    with pytest.raises(AuthenticationRequiredError):
        await accounts.agent_for_token(first.token, now + timedelta(seconds=TOKEN_CACHE_S))
    # Signed out here: refused at once, though it was just resolved.
    await accounts.sign_out(second.token)
    with pytest.raises(AuthenticationRequiredError):
        await accounts.agent_for_token(second.token, now)
    # A remembered token still expires when it expires.
    third = await accounts.sign_in("dana", "long-enough-pw", now)
    assert (
        await accounts.agent_for_token(third.token, third.expires_at - timedelta(seconds=1))
    ).username == "dana"
    with pytest.raises(AuthenticationRequiredError, match="expired"):
        await accounts.agent_for_token(third.token, third.expires_at)


async def test_display_names_are_remembered_and_new_accounts_are_known_at_once(
    db: asyncpg.Connection,
) -> None:
    seconds = [0.0]
    accounts = AccountService(AccountStore(db), token_ttl_s=3600, hasher=FAST, monotonic=lambda: seconds[0])
    erin = await accounts.create_agent(
        username="erin", display_name="Erin", password="long-enough-pw", role=Role.AGENT, interfaces=[]
    )
    assert await accounts.display_names([erin.id, 999]) == {erin.id: "Erin"}
    frank = await accounts.create_agent(
        username="frank", display_name="Frank", password="long-enough-pw", role=Role.AGENT, interfaces=[]
    )
    assert await accounts.display_names([erin.id, frank.id]) == {erin.id: "Erin", frank.id: "Frank"}
    # Read from memory (the rows say otherwise now) until the names age out.
    await db.execute("UPDATE agents SET display_name = upper(display_name)")
    seconds[0] = NAME_CACHE_S - 1
    assert await accounts.display_names([erin.id, frank.id]) == {erin.id: "Erin", frank.id: "Frank"}
    seconds[0] = NAME_CACHE_S
    assert await accounts.display_names([erin.id, frank.id]) == {erin.id: "ERIN", frank.id: "FRANK"}
