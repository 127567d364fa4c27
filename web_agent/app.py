"""The aiohttp application: REST API, the agent WebSocket and the static desktop pages."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from agents import (
    Agent,
    AuthenticationRequiredError,
    DuplicateAccountError,
    InvalidAccountError,
    InvalidCredentialsError,
)
from cti import (
    AmiActionError,
    AmiInjectionError,
    AmiNotConnectedError,
    AmiTimeoutError,
    CallbackNotFoundError,
    CampaignNotFoundError,
    InvalidCallbackError,
    InvalidCampaignError,
    LeadNotFoundError,
    NotDiallableError,
    NotInQueueError,
    UnknownPauseReasonError,
)
from customers import CustomerNotFoundError, CustomersError, InvalidCustomerError, NewCustomer, Tier
from knowledge_base import (
    ArticleConflictError,
    ArticleNotFoundError,
    InvalidArticleError,
    ReviewRequiredError,
)
from tickets import (
    AlertNotFoundError,
    ConfirmationInvalidError,
    CustomerNotWatchableError,
    IllegalTransitionError,
    InvalidTicketError,
    NoHandlerAvailableError,
    NotYourTicketError,
    TicketConflictError,
    TicketLookupFailedError,
    TicketNotFoundError,
    TicketsError,
    UnknownHandlerError,
)
from web_agent.api import ANY_ROLE, MAX_BODY_BYTES, bearer, json_object, require, text_field
from web_agent.api import SERVICES as SERVICES
from web_agent.api import WebServices as WebServices
from web_agent.customer_json import customer_json
from web_agent.errors import ForbiddenError, RateLimitedError, ValidationFailedError
from web_agent.openapi import OPENAPI
from web_agent.ratelimit import AttemptLimiter
from web_agent.tickets_api import add_ticket_routes

log = logging.getLogger(__name__)

WS_CLOSE_TOKEN_MISSING = 4001
WS_CLOSE_TOKEN_INVALID = 4002
STATIC_DIR = Path(str(resources.files("web_agent") / "static"))


LOGIN_LIMITER = web.AppKey("login_limiter", AttemptLimiter)

# One table from error to HTTP: (status, stable error_id). Order matters: first match wins.
_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidCredentialsError, 401, "auth.invalid_credentials"),
    (AuthenticationRequiredError, 401, "auth.required"),
    (ForbiddenError, 403, "auth.forbidden"),
    (RateLimitedError, 429, "auth.rate_limited"),
    (ValidationFailedError, 422, "validation.failed"),
    (InvalidCustomerError, 422, "validation.failed"),
    (InvalidAccountError, 422, "validation.failed"),
    (DuplicateAccountError, 409, "account.duplicate"),
    (CustomerNotFoundError, 404, "customers.not_found"),
    (CustomersError, 409, "customers.conflict"),
    (InvalidTicketError, 422, "validation.failed"),
    (TicketNotFoundError, 404, "tickets.not_found"),
    (IllegalTransitionError, 409, "tickets.illegal_transition"),
    (TicketConflictError, 409, "tickets.version_conflict"),
    (NotYourTicketError, 403, "tickets.not_yours"),
    (UnknownHandlerError, 422, "tickets.unknown_handler"),
    (NoHandlerAvailableError, 409, "tickets.no_handler_available"),
    (ConfirmationInvalidError, 404, "tickets.confirmation_invalid"),
    (TicketLookupFailedError, 404, "portal.ticket_not_found"),
    (AlertNotFoundError, 404, "alerts.not_found"),
    (CustomerNotWatchableError, 404, "alerts.customer_not_watchable"),
    (TicketsError, 409, "tickets.conflict"),
    # Two requests locked the same rows in opposite orders; PostgreSQL undid one of them.
    (asyncpg.DeadlockDetectedError, 409, "service.retry"),
    (asyncpg.SerializationError, 409, "service.retry"),
    (UnknownPauseReasonError, 422, "agent_state.unknown_reason"),
    (NotInQueueError, 409, "agent_state.not_in_queue"),
    (AmiInjectionError, 422, "validation.failed"),
    (AmiActionError, 409, "pbx.refused"),
    (AmiNotConnectedError, 503, "pbx.unavailable"),
    (AmiTimeoutError, 504, "pbx.timeout"),
    (CampaignNotFoundError, 404, "campaigns.not_found"),
    (LeadNotFoundError, 404, "campaigns.lead_not_found"),
    (NotDiallableError, 409, "campaigns.not_diallable"),
    (InvalidCampaignError, 422, "validation.failed"),
    (InvalidArticleError, 422, "validation.failed"),
    (ArticleNotFoundError, 404, "kb.not_found"),
    (ArticleConflictError, 409, "kb.version_conflict"),
    (ReviewRequiredError, 403, "kb.review_required"),
    (InvalidCallbackError, 422, "validation.failed"),
    (CallbackNotFoundError, 404, "callbacks.not_found"),
    (asyncpg.PostgresConnectionError, 503, "service.database_unavailable"),
    (asyncpg.InterfaceError, 503, "service.database_unavailable"),
    (OSError, 503, "service.database_unavailable"),
    (TimeoutError, 503, "service.timeout"),
)


def error_response(status: int, error_id: str, message: str, /, **extra: Any) -> web.Response:
    """The JSON body every error has: a stable `error_id` and a sentence for people."""
    return web.json_response({"error_id": error_id, "message": message, **extra}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain and HTTP errors to JSON; log what nobody expected."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, f"http.{reason}", exc.text or exc.reason)
    except Exception as exc:
        for kind, status, error_id in _ERRORS:
            if isinstance(exc, kind):
                response = error_response(status, error_id, _public_message(exc, status), **_extra(exc))
                if isinstance(exc, RateLimitedError):
                    response.headers["Retry-After"] = str(exc.retry_after_s)
                if status >= 500:
                    log.error("%s %s failed: %s: %s", request.method, request.path, type(exc).__name__, exc)
                return response
        log.exception("%s %s failed unexpectedly", request.method, request.path)
        return error_response(500, "internal", "Something went wrong on our side; the error was logged.")


def _extra(exc: Exception) -> dict[str, Any]:
    """The data an error carries that a client can act on (which field, which version)."""
    if isinstance(exc, ValidationFailedError):
        return {"details": exc.details}
    if isinstance(
        exc,
        InvalidAccountError
        | InvalidCustomerError
        | InvalidTicketError
        | InvalidArticleError
        | InvalidCallbackError,
    ):
        return {"details": exc.problems}
    if isinstance(exc, InvalidCampaignError):
        # Its problems are sentences, not per-field: one entry, so `details` has one shape everywhere.
        return {"details": {"campaign": "; ".join(exc.problems)}}
    if isinstance(exc, IllegalTransitionError):
        return {"status": exc.status, "allowed": list(exc.allowed)}
    if isinstance(exc, TicketConflictError | ArticleConflictError):
        return {"version": exc.actual}
    return {}


def _public_message(exc: Exception, status: int) -> str:
    if isinstance(exc, AmiNotConnectedError | AmiTimeoutError):
        return "The phone system is not answering right now; nothing was changed. Try again in a moment."
    if status == 503:
        return "The database is not reachable right now; nothing was changed. Try again in a moment."
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return "Someone changed the same thing at the same moment; nothing was saved. Please try again."
    return str(exc)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that stop framing, sniffing and third-party scripts."""
    response = await handler(request)
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    return response


class AccessLogger(AbstractAccessLogger):
    """Logs method, path, status and time, never the query string (the WebSocket token is in it)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one line per request."""
        self.logger.info(
            '%s "%s %s" %s %.1fms', request.remote, request.method, request.path, response.status, time * 1000
        )

    @property
    def enabled(self) -> bool:
        """Only when the access logger would print INFO."""
        return self.logger.isEnabledFor(logging.INFO)


def agent_json(agent: Agent) -> dict[str, Any]:
    """An account as the desktop sees it."""
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role.value,
        "interfaces": list(agent.interfaces),
    }


async def login(request: web.Request) -> web.Response:
    """POST /api/auth/login {username, password} -> {token, agent}."""
    services = request.app[SERVICES]
    limiter = request.app[LOGIN_LIMITER]
    body = await json_object(request)
    username = text_field(body, "username", max_len=64).strip().lower()
    password = text_field(body, "password", max_len=256)
    now = time.monotonic()
    keys = (f"user:{username}", f"addr:{request.remote}")
    wait_s = max(limiter.retry_after(key, now) for key in keys)
    if wait_s:
        raise RateLimitedError(wait_s)
    try:
        session = await services.accounts.sign_in(username, password, services.now())
    except InvalidCredentialsError:
        for key in keys:
            limiter.fail(key, now)
        log.info("failed sign-in for %r from %s", username, request.remote)
        raise
    for key in keys:
        limiter.succeed(key)
    log.info("agent %s signed in", session.agent.username)
    return web.json_response(
        {
            "token": session.token,
            "expires_at": session.expires_at.isoformat(),
            "agent": agent_json(session.agent),
        }
    )


@require(*ANY_ROLE)
async def logout(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/auth/logout: revoke the token used for this request."""
    token = bearer(request)
    assert token is not None
    await request.app[SERVICES].accounts.sign_out(token)
    return web.Response(status=204)


@require(*ANY_ROLE)
async def me(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/me: the signed-in account."""
    return web.json_response({"agent": agent_json(agent)})


@require(*ANY_ROLE)
async def calls_today(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/calls/today: the calls this agent took since local midnight, newest first."""
    services = request.app[SERVICES]
    local_now = services.now().astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    calls = await services.call_log.calls_for_interfaces(agent.interfaces, midnight.astimezone(UTC))
    return web.json_response(
        {
            "calls": [
                {
                    "call_id": c.call_id,
                    "caller_number": c.caller_number,
                    "caller_name": c.caller_name,
                    "customer": (
                        {"id": c.customer_id, "name": c.customer_name, "tier": c.customer_tier}
                        if c.customer_id is not None
                        else None
                    ),
                    "queue": c.queue,
                    "outcome": c.outcome,
                    "wait_s": c.wait_s,
                    "talk_s": c.talk_s,
                    "started_at": c.started_at.isoformat(),
                    "ended_at": c.ended_at.isoformat(),
                }
                for c in calls
            ]
        }
    )


@require(*ANY_ROLE)
async def create_customer(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/customers {name, phone, email?, tier?}: the "new customer" action of a pop."""
    body = await json_object(request)
    tier_text = text_field(body, "tier", required=False, max_len=20) or Tier.STANDARD.value
    try:
        tier = Tier(tier_text)
    except ValueError:
        raise ValidationFailedError({"tier": f"one of {', '.join(t.value for t in Tier)}"}) from None
    new = NewCustomer.create(
        name=text_field(body, "name"),
        phones=[text_field(body, "phone", max_len=40)],
        email=text_field(body, "email", required=False, max_len=254) or None,
        tier=tier,
        default_country=request.app[SERVICES].customers.default_country,
    )
    customer = await request.app[SERVICES].customers.create(new)
    log.info("agent %s created customer %s", agent.username, customer.id)
    return web.json_response({"customer": customer_json(customer)}, status=201)


@require(*ANY_ROLE)
async def search_customers(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/customers?q=…: customers by customer number, phone, or name words (any diacritics)."""
    query = request.query.get("q", "")
    if len(query) > 200:
        raise ValidationFailedError({"q": "at most 200 characters"})
    found = await request.app[SERVICES].customers.search(query)
    return web.json_response({"customers": [customer_json(c) for c in found]})


async def health(request: web.Request) -> web.Response:
    """GET /api/health: liveness of the PBX link and the database (no login: for monitors)."""
    services = request.app[SERVICES]
    try:
        async with asyncio.timeout(2):
            database_ok = await services.database_ok()
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("health check: database unreachable: %s", exc)
        database_ok = False
    ami = "connected" if services.ami_connected() else "disconnected"
    status = "ok" if database_ok and ami == "connected" else "degraded"
    return web.json_response(
        {"status": status, "ami": ami, "database": "ok" if database_ok else "error"},
        status=200 if database_ok else 503,
    )


async def openapi_document(request: web.Request) -> web.Response:
    """GET /api/openapi.json: the OpenAPI 3.1 document of this API (no login)."""
    return web.json_response(OPENAPI)


async def agent_socket(request: web.Request) -> web.WebSocketResponse:
    """GET /ws?token=…: the live stream of pops for one signed-in agent."""
    services = request.app[SERVICES]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096, compress=False)
    await ws.prepare(request)
    token = request.query.get("token")
    if not token:
        await ws.close(code=WS_CLOSE_TOKEN_MISSING, message=b"token missing")
        return ws
    try:
        agent = await services.accounts.agent_for_token(token, services.now())
    except AuthenticationRequiredError:
        await ws.close(code=WS_CLOSE_TOKEN_INVALID, message=b"token invalid or expired")
        return ws
    resume = _resume_point(request)
    connection, resumed = services.hub.connect(agent, ws, resume)
    log.info(
        "agent %s connected%s (%d sockets open)",
        agent.username,
        " (stream resumed)" if resumed else "",
        services.hub.connection_count,
    )
    # The hello (and the snapshot) leave before the writer starts, so they precede every event.
    hello = {"op": "hello", "agent": agent_json(agent), "scope": connection.stream.scope, "resumed": resumed}
    first = [json.dumps({**hello, "seq": connection.stream.seq})]
    if not resumed:
        first.append(services.hub.snapshot(connection))
    writer: asyncio.Task[None] | None = None
    try:
        for frame in first:
            await ws.send_str(frame, compress=False)
        writer = asyncio.get_running_loop().create_task(connection.write_loop())
        async for message in ws:
            if message.type is WSMsgType.TEXT and message.data == "ping":
                await ws.send_str('{"op":"pong"}', compress=False)
            elif message.type is WSMsgType.ERROR:
                log.warning("socket of agent %s failed: %s", agent.username, ws.exception())
    finally:
        services.hub.disconnect(connection, ws)
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        log.info("agent %s disconnected", agent.username)
    return ws


def _resume_point(request: web.Request) -> tuple[str, int] | None:
    """`?scope=<id>&since=<seq>` of a reconnecting browser; None when absent or malformed."""
    scope = request.query.get("scope", "")
    since = request.query.get("since", "")
    if not scope or len(scope) > 64 or not since.isdigit() or len(since) > 12:
        return None
    return scope, int(since)


async def index(request: web.Request) -> web.FileResponse:
    """GET /: the agent desktop."""
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def confirm_page(request: web.Request) -> web.FileResponse:
    """GET /confirm: the page behind the link in a service-completed notice (no login)."""
    return web.FileResponse(STATIC_DIR / "confirm.html", headers={"Cache-Control": "no-cache"})


def create_app(services: WebServices) -> web.Application:
    """Build the aiohttp application around the given services."""
    app = web.Application(middlewares=[security_headers, errors_middleware], client_max_size=MAX_BODY_BYTES)
    app[SERVICES] = services
    app[LOGIN_LIMITER] = AttemptLimiter(limit=services.settings.login_attempts_per_5min, window_s=300)
    app.router.add_post("/api/auth/login", login)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/calls/today", calls_today)
    app.router.add_post("/api/customers", create_customer)
    app.router.add_get("/api/customers", search_customers)
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/openapi.json", openapi_document)
    add_ticket_routes(app)
    app.router.add_get("/ws", agent_socket)
    app.router.add_get("/", index)
    app.router.add_get("/confirm", confirm_page)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    await app[SERVICES].hub.close()
