"""What every API handler shares: the services it reaches, the bearer-token check and body parsing.

A module of its own so the feature route modules (tickets_api) and app.py use one copy.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from cti.store import CallLogStore
from customers.store import CustomerStore
from tickets.service import TicketService
from web_agent.accounts import AccountService, Agent, Role
from web_agent.errors import ForbiddenError, ValidationFailedError
from web_agent.hub import AgentHub
from web_agent.settings import WebSettings

MAX_BODY_BYTES = 64 * 1024
# The largest integer PostgreSQL's bigint holds: ids beyond it are refused at the edge.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class WebServices:
    """What the web layer needs from the rest of Hotline, built by hotline/app.py."""

    settings: WebSettings
    accounts: AccountService
    customers: CustomerStore
    call_log: CallLogStore
    tickets: TicketService
    hub: AgentHub
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
