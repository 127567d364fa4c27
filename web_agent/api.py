"""What every API handler shares: the services it reaches, the bearer-token check and body parsing.

A module of its own so the feature route modules (tickets_api) and app.py use one copy.
"""

from __future__ import annotations

import enum
import json
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from agents import AccountService, Agent, Role
from cti import CallHistory
from customers import CustomerService
from tickets import TicketService
from web_agent.errors import ForbiddenError, ValidationFailedError
from web_agent.hub import AgentHub
from web_agent.settings import WebSettings

MAX_BODY_BYTES = 64 * 1024
# The largest integer PostgreSQL's bigint holds: ids beyond it are refused at the edge.
MAX_ID = 2**63 - 1
MAX_QUERY_CHARS = 200
# Versions of optimistic locking (an integer column).
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class WebServices:
    """What the web layer needs from the rest of Hotline, built by hotline/app.py."""

    settings: WebSettings
    accounts: AccountService
    customers: CustomerService
    call_log: CallHistory
    tickets: TicketService
    hub: AgentHub[Agent]
    ami_connected: Callable[[], bool]
    database_ok: Callable[[], Awaitable[bool]]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


SERVICES = web.AppKey("services", WebServices)
ANY_ROLE = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
# Who watches the floor: supervisors and admins.
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


def require(
    *roles: Role,
) -> Callable[[Callable[[web.Request, Agent], Awaitable[web.StreamResponse]]], Handler]:
    """Decorate a handler: the caller must send a valid bearer token of one of `roles`."""
    names = tuple(r.value for r in roles)

    def wrap(handler: Callable[[web.Request, Agent], Awaitable[web.StreamResponse]]) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            services = request.app[SERVICES]
            agent = await services.accounts.agent_for_token(bearer(request), services.now())
            if agent.role not in roles:
                raise ForbiddenError(agent.role.value, names)
            return await handler(request, agent)

        checked.__doc__ = handler.__doc__
        return checked

    return wrap


def bearer(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or ValidationFailedError saying what is wrong with it."""
    if request.content_type != "application/json":
        raise ValidationFailedError({"body": "send JSON with Content-Type: application/json"})
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailedError({"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise ValidationFailedError({"body": "expected a JSON object"})
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True, max_len: int = 200) -> str:
    """A string member of `body` ("" when optional and absent or null), or ValidationFailedError."""
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationFailedError({name: "required text" if required else "text or null"})
    if len(value) > max_len:
        raise ValidationFailedError({name: f"at most {max_len} characters"})
    return value


E = TypeVar("E", bound=enum.Enum)


class Fields:
    """Reads typed members of a JSON body or a query string, collecting every problem at once."""

    def __init__(self, data: Mapping[str, Any], *, query: bool = False) -> None:
        self._data = data
        # A query string carries only text: numbers and flags arrive as digits and words.
        self._query = query
        self.problems: dict[str, str] = {}

    def text(self, name: str, *, max_len: int = MAX_BODY_BYTES, line: bool = False) -> str:
        """A string ("" when absent or null); with `line`, one line without control characters."""
        value = self._data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problems[name] = "text"
            return ""
        if len(value) > max_len:
            self.problems[name] = f"at most {max_len} characters"
        elif line and any(unicodedata.category(c) == "Cc" for c in value):
            # Contact details end up in email headers: a line break there is an injection.
            self.problems[name] = "one line of text, without control characters"
        return value

    def given(self, name: str) -> bool:
        """Whether the member is there at all (null counts as there)."""
        return name in self._data

    def optional_text(self, name: str, *, max_len: int) -> str | None:
        """One line of text, or None when absent, null or blank."""
        return self.text(name, max_len=max_len, line=True).strip() or None

    def integer(
        self, name: str, *, low: int, high: int, default: int | None = None, what: str | None = None
    ) -> int | None:
        """An integer in low..high (a JSON number, or digits in a query string); `default` when absent."""
        value = self._data.get(name)
        if value is None or value == "":
            return default
        if (
            self._query
            and isinstance(value, str)
            and value.isascii()
            and value.lstrip("-").isdigit()
            and len(value) < 20
        ):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problems[name] = what or f"a whole number from {low} to {high}"
            return default
        return value

    def identifier(self, name: str) -> int | None:
        """An id (a positive whole number), or None when absent or null."""
        return self.integer(name, low=1, high=MAX_ID)

    def boolean(self, name: str, *, default: bool | None = False) -> bool:
        """true/false in JSON, or 1/0/true/false in a query string; with default None it is required."""
        value = self._data.get(name)
        if value is None:
            if default is None:
                self.problems[name] = "required: true or false"
            return bool(default)
        if isinstance(value, bool):
            return value
        if self._query and isinstance(value, str) and value.lower() in ("1", "true", "0", "false"):
            return value.lower() in ("1", "true")
        self.problems[name] = "true or false"
        return bool(default)

    def choice(self, name: str, kind: type[E]) -> E | None:
        """One of an enum's values, or None when absent."""
        value = self._data.get(name)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            self.problems[name] = "one of " + ", ".join(str(m.value) for m in kind)
            return None

    def choices(self, name: str, kind: type[E]) -> tuple[E, ...]:
        """A comma-separated list of an enum's values (query strings)."""
        raw = self.text(name, max_len=MAX_QUERY_CHARS)
        found: list[E] = []
        for part in (p.strip() for p in raw.split(",")):
            if not part:
                continue
            try:
                found.append(kind(part))
            except ValueError:
                self.problems[name] = "comma-separated, each one of " + ", ".join(str(m.value) for m in kind)
        return tuple(found)

    def strings(self, name: str, *, max_items: int, max_len: int) -> list[str]:
        """A JSON array of strings."""
        value = self._data.get(name)
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) and len(v) <= max_len for v in value)
        ):
            self.problems[name] = f"a list of at most {max_items} names"
            return []
        return list(value)

    def check(self) -> None:
        """Raise ValidationFailedError listing every problem found so far."""
        if self.problems:
            raise ValidationFailedError(self.problems)
