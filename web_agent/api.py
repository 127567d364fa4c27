"""What every API handler shares: the services it reaches, the roles, and the limits of what it takes.

A module of its own so the feature route modules (tickets_api), web_agent.routes and app.py use one copy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from agents import AccountService, Agent, Role
from cti import CallHistory
from customers import CustomerService
from tickets import TicketService
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
