"""The aiohttp application: REST API, the agent WebSocket and the static desktop pages."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from datetime import UTC
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
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
from customers import (
    MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
    CustomerNotFoundError,
    CustomersError,
    InvalidCustomerError,
    NewCustomer,
    Tier,
)
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
from web_agent.api import ANY_ROLE, MAX_BODY_BYTES, MAX_QUERY_CHARS
from web_agent.api import SERVICES as SERVICES
from web_agent.api import WebServices as WebServices
from web_agent.errors import ForbiddenError, RateLimitedError, ValidationFailedError
from web_agent.ratelimit import AttemptLimiter
from web_agent.routes import (
    DATABASE_ERRORS,
    DECLARED,
    PUBLIC,
    ErrorReply,
    Instant,
    JsonBody,
    QueryString,
    Reply,
    Route,
    Routes,
    bearer,
    encode,
    openapi_document,
)
from web_agent.shapes import AgentView, CustomerView
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


# The errors aiohttp raises itself (web.HTTPException), as errors_middleware names them.
_HTTP_ERRORS = {"http.request_entity_too_large": 413, "http.not_found": 404, "http.method_not_allowed": 405}
ERROR_STATUS: dict[str, int] = {error_id: status for _, status, error_id in _ERRORS} | _HTTP_ERRORS


def error_response(status: int, error_id: str, message: str, /, **extra: Any) -> web.Response:
    """The JSON body every error has: a stable `error_id` and a sentence for people."""
    return encode(ErrorReply(error_id=error_id, message=message, **extra), status)


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


ROUTES = Routes("desk")


class LoginBody(JsonBody):
    """Who signs in."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginReply(Reply):
    """A bearer token for the other calls, when it expires, and the account."""

    token: str
    expires_at: Instant
    agent: AgentView


class MeReply(Reply):
    """The signed-in account."""

    agent: AgentView


@ROUTES.post(
    "/api/auth/login",
    roles=PUBLIC,
    errors=("auth.invalid_credentials", "auth.rate_limited", *DATABASE_ERRORS),
)
async def login(request: web.Request, *, body: LoginBody) -> LoginReply:
    """Sign in: a bearer token for the other calls."""
    services = request.app[SERVICES]
    limiter = request.app[LOGIN_LIMITER]
    username = body.username.strip().lower()
    now = time.monotonic()
    keys = (f"user:{username}", f"addr:{request.remote}")
    wait_s = max(limiter.retry_after(key, now) for key in keys)
    if wait_s:
        raise RateLimitedError(wait_s)
    try:
        session = await services.accounts.sign_in(username, body.password, services.now())
    except InvalidCredentialsError:
        for key in keys:
            limiter.fail(key, now)
        log.info("failed sign-in for %r from %s", username, request.remote)
        raise
    for key in keys:
        limiter.succeed(key)
    log.info("agent %s signed in", session.agent.username)
    return LoginReply(session.token, session.expires_at.isoformat(), AgentView.of(session.agent))


@ROUTES.post("/api/auth/logout", roles=ANY_ROLE, status=204)
async def logout(request: web.Request, agent: Agent) -> None:
    """Revoke the bearer token used for this request."""
    token = bearer(request)
    assert token is not None
    await request.app[SERVICES].accounts.sign_out(token)


@ROUTES.get("/api/me", roles=ANY_ROLE)
async def me(request: web.Request, agent: Agent) -> MeReply:
    """The signed-in account."""
    return MeReply(AgentView.of(agent))


class CallCustomer(Reply):
    """The customer a call was matched to, as the call log recorded them."""

    id: int
    name: str | None
    tier: str | None


class CallView(Reply):
    """One call the agent took."""

    call_id: str
    caller_number: str
    caller_name: str
    customer: CallCustomer | None
    queue: str | None
    outcome: str
    wait_s: int
    talk_s: int
    started_at: Instant
    ended_at: Instant


class CallsToday(Reply):
    """The agent's calls since local midnight, newest first."""

    calls: list[CallView]


@ROUTES.get("/api/calls/today", roles=ANY_ROLE)
async def calls_today(request: web.Request, agent: Agent) -> CallsToday:
    """The agent's calls since local midnight, newest first."""
    services = request.app[SERVICES]
    local_now = services.now().astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    calls = await services.call_log.calls_for_interfaces(agent.interfaces, midnight.astimezone(UTC))
    return CallsToday(
        [
            CallView(
                call_id=c.call_id,
                caller_number=c.caller_number,
                caller_name=c.caller_name,
                customer=None
                if c.customer_id is None
                else CallCustomer(c.customer_id, c.customer_name, c.customer_tier),
                queue=c.queue,
                outcome=c.outcome,
                wait_s=c.wait_s,
                talk_s=c.talk_s,
                started_at=c.started_at.isoformat(),
                ended_at=c.ended_at.isoformat(),
            )
            for c in calls
        ]
    )


class NewCustomerBody(JsonBody):
    """The pop's "new customer" form: the caller's number becomes the customer's phone."""

    name: Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS)]
    phone: Annotated[str, msgspec.Meta(max_length=40)]
    email: Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_CHARS)] | None = None
    tier: Tier = Tier.STANDARD


class CustomerReply(Reply):
    """One customer."""

    customer: CustomerView


class CustomerSearch(QueryString):
    """What to look for."""

    q: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_QUERY_CHARS, description="a customer number, a phone (any spelling) or name words"
        ),
    ] = ""


class CustomerList(Reply):
    """Customers found."""

    customers: list[CustomerView]


@ROUTES.post("/api/customers", roles=ANY_ROLE, status=201, errors=("customers.conflict",))
async def create_customer(request: web.Request, agent: Agent, *, body: NewCustomerBody) -> CustomerReply:
    """Create a customer (the pop's new-customer action)."""
    new = NewCustomer.create(
        name=body.name,
        phones=[body.phone],
        email=body.email or None,
        tier=body.tier,
        default_country=request.app[SERVICES].customers.default_country,
    )
    customer = await request.app[SERVICES].customers.create(new)
    log.info("agent %s created customer %s", agent.username, customer.id)
    return CustomerReply(CustomerView.of(customer))


@ROUTES.get("/api/customers", roles=ANY_ROLE)
async def search_customers(request: web.Request, agent: Agent, *, query: CustomerSearch) -> CustomerList:
    """Find customers by customer number, phone (any spelling) or name words (any diacritics)."""
    found = await request.app[SERVICES].customers.search(query.q)
    return CustomerList([CustomerView.of(c) for c in found])


class Health(Reply):
    """Liveness of the PBX link and the database."""

    status: Literal["ok", "degraded"]
    ami: Literal["connected", "disconnected"]
    database: Literal["ok", "error"]


@ROUTES.get("/api/health", roles=PUBLIC, responses={200: Health, 503: Health})
async def health(request: web.Request) -> web.Response:
    """Liveness of the PBX link and the database (no login: for monitors); 503 when the database is gone."""
    services = request.app[SERVICES]
    try:
        async with asyncio.timeout(2):
            database_ok = await services.database_ok()
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("health check: database unreachable: %s", exc)
        database_ok = False
    connected = services.ami_connected()
    return encode(
        Health(
            status="ok" if database_ok and connected else "degraded",
            ami="connected" if connected else "disconnected",
            database="ok" if database_ok else "error",
        ),
        200 if database_ok else 503,
    )


@functools.cache
def _document_json(routes: tuple[Route, ...]) -> bytes:
    # Every application of this process declares the same routes: one document for all of them.
    return msgspec.json.encode(openapi_document(routes, ERROR_STATUS))


@ROUTES.get("/api/openapi.json", roles=PUBLIC)
async def openapi_json(request: web.Request) -> msgspec.Raw:
    """This document (no login)."""
    routes: list[Route] = request.app[DECLARED]
    return msgspec.Raw(_document_json(tuple(routes)))


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
    hello = {
        "op": "hello",
        "agent": msgspec.to_builtins(AgentView.of(agent)),
        "scope": connection.stream.scope,
        "resumed": resumed,
    }
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
    ROUTES.add_to(app)
    add_ticket_routes(app)
    app.router.add_get("/ws", agent_socket)
    app.router.add_get("/", index)
    app.router.add_get("/confirm", confirm_page)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    await app[SERVICES].hub.close()
