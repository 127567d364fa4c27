"""HTTP for the service flow: /api/tickets, handlers, the reopen report, the customer page, confirm links.

Handlers only translate. They check the shape of what comes in (types, that an id is a number),
call TicketService and turn what comes back into the JSON of web_agent.ticket_json. Every rule
(who may act, which transition is allowed, what a note may hold) is the service's; its errors
become HTTP in app.py's one error table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from agents import Agent, Role
from tickets import (
    MAX_PAGE,
    Actor,
    Channel,
    ConfirmationInvalidError,
    NewTicket,
    Priority,
    Ticket,
    TicketQuery,
    TicketService,
    TicketStatus,
)
from web_agent.api import (
    ANY_ROLE,
    MAX_BODY_BYTES,
    MAX_ID,
    MAX_VERSION,
    SERVICES,
    SUPERVISORS,
    json_object,
    require,
)
from web_agent.api import Fields as _Fields
from web_agent.customer_json import customer_json
from web_agent.errors import RateLimitedError, ValidationFailedError
from web_agent.ratelimit import AttemptLimiter
from web_agent.ticket_json import department_json, entry_json, handler_json, notice_json, ticket_json

log = logging.getLogger(__name__)

CONFIRM_LIMITER = web.AppKey("confirm_limiter", AttemptLimiter)
CONFIRM_FAILURES_PER_5MIN = 20
MAX_QUERY_CHARS = 200
MAX_REPORT_DAYS = 366
DEFAULT_PAGE = 50
# Free text the service checks itself (notes, subject, description): the body limit bounds it here.
_SERVICE_CHECKED = MAX_BODY_BYTES
_TICKET_ID = r"{id:\d{1,18}}"


def _actor(agent: Agent) -> Actor:
    return Actor.agent(agent.id, supervisor=agent.role is not Role.AGENT)


def _ticket_id(request: web.Request) -> int:
    # The route only matches up to 18 digits, so this always fits a bigint.
    return int(request.match_info["id"])


async def _names(request: web.Request, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return await request.app[SERVICES].accounts.display_names(wanted)


def _people(ticket: Ticket) -> tuple[int | None, ...]:
    return (ticket.assignee_id, ticket.created_by)


async def _ticket_response(request: web.Request, ticket: Ticket, status: int = 200) -> web.Response:
    names = await _names(request, _people(ticket))
    return web.json_response({"ticket": ticket_json(ticket, names)}, status=status)


async def _body(request: web.Request) -> _Fields:
    return _Fields(await json_object(request))


def _version(fields: _Fields) -> int | None:
    return fields.integer("version", low=1, high=MAX_VERSION)


# --- tickets -------------------------------------------------------------------------------


@require(*ANY_ROLE)
async def ticket_meta(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/tickets/meta: the values a ticket's fields can take, for the desktop's forms."""
    return web.json_response(
        {
            "categories": list(request.app[SERVICES].tickets.categories),
            "priorities": [p.value for p in Priority],
            "channels": [c.value for c in Channel],
            "statuses": [s.value for s in TicketStatus],
        }
    )


@require(*ANY_ROLE)
async def create_ticket(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/tickets: take in a request (from a pop, the phone or the API), optionally assigned."""
    service = request.app[SERVICES].tickets
    body = await _body(request)
    subject = body.text("subject")
    description = body.text("description")
    category = body.text("category", max_len=100)
    priority = body.choice("priority", Priority) or Priority.NORMAL
    channel = body.choice("channel", Channel) or Channel.PHONE
    customer_id = body.identifier("customer_id")
    contact_name = body.text("contact_name", max_len=200, line=True)
    contact_email = body.optional_text("contact_email", max_len=254)
    contact_phone = body.optional_text("contact_phone", max_len=40)
    call_id = body.optional_text("call_id", max_len=_SERVICE_CHECKED)
    assignee_id = body.identifier("assignee_id")
    auto_assign = body.boolean("auto_assign")
    body.check()
    new = NewTicket.create(
        subject=subject,
        description=description,
        category=category,
        channel=channel,
        priority=priority,
        categories=service.categories,
        customer_id=customer_id,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        call_id=call_id,
    )
    ticket = await service.open(new, _actor(agent), assignee_id=assignee_id, auto_assign=auto_assign)
    return await _ticket_response(request, ticket, status=201)


@require(*ANY_ROLE)
async def list_tickets(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/tickets: a work list with filters and paging, top-tier customers first."""
    fields = _Fields(request.query, query=True)
    mine = fields.boolean("mine")
    assignee_id = fields.identifier("assignee_id")
    if mine and assignee_id is not None and assignee_id != agent.id:
        fields.problems["assignee_id"] = "give mine=1 or assignee_id, not both"
    limit = fields.integer("limit", low=1, high=MAX_PAGE, default=DEFAULT_PAGE)
    offset = fields.integer("offset", low=0, high=MAX_ID, default=0)
    query = TicketQuery(
        statuses=fields.choices("status", TicketStatus),
        open_only=fields.boolean("open"),
        assignee_id=agent.id if mine else assignee_id,
        unassigned=fields.boolean("unassigned"),
        customer_id=fields.identifier("customer_id"),
        category=fields.optional_text("category", max_len=100),
        priority=fields.choice("priority", Priority),
        top_tier_only=fields.boolean("top_tier"),
        text=fields.optional_text("q", max_len=MAX_QUERY_CHARS),
        limit=limit or DEFAULT_PAGE,
        offset=offset or 0,
    )
    fields.check()
    page = await request.app[SERVICES].tickets.search(query)
    names = await _names(request, (i for t in page.tickets for i in _people(t)))
    return web.json_response(
        {
            "tickets": [ticket_json(t, names) for t in page.tickets],
            "total": page.total,
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@require(*ANY_ROLE)
async def get_ticket(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/tickets/{id}: the ticket, its audited timeline and its notices to the customer."""
    detail = await request.app[SERVICES].tickets.detail(_ticket_id(request))
    names = await _names(request, (*_people(detail.ticket), *(e.actor_id for e in detail.entries)))
    return web.json_response(
        {
            "ticket": ticket_json(detail.ticket, names),
            "entries": [entry_json(e, names) for e in detail.entries],
            "notices": [notice_json(n) for n in detail.notices],
        }
    )


@require(*ANY_ROLE)
async def assign_ticket(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/tickets/{id}/assign: to `assignee_id`, or with none to the best handler with room."""
    body = await _body(request)
    assignee_id, note, version = body.identifier("assignee_id"), body.text("note"), _version(body)
    body.check()
    ticket = await request.app[SERVICES].tickets.assign(
        _ticket_id(request), _actor(agent), assignee_id=assignee_id, note=note, expected_version=version
    )
    return await _ticket_response(request, ticket)


# One step of the flow that takes one text field (and the `version` read): the service method
# it calls, the field, and what it does (the handler's docstring).
_Step = Callable[[TicketService, int, Actor, str, int | None], Awaitable[Ticket]]
_STEPS: dict[str, tuple[str, _Step, str]] = {
    "respond": (
        "note",
        lambda s, i, a, t, v: s.respond(i, a, t, expected_version=v),
        "the first response to the customer (customer-visible)",
    ),
    "wait": (
        "note",
        lambda s, i, a, t, v: s.wait_on_customer(i, a, t, expected_version=v),
        "waiting on the customer; the resolution clock stops",
    ),
    "resume": (
        "note",
        lambda s, i, a, t, v: s.resume(i, a, t, expected_version=v),
        "the customer came back; the clock runs again",
    ),
    "resolve": (
        "resolution",
        lambda s, i, a, t, v: s.resolve(i, a, t, expected_version=v),
        "record the solution; the customer is notified",
    ),
    "confirm": (
        "note",
        lambda s, i, a, t, v: s.confirm(i, a, t, expected_version=v),
        "an agent records that the customer accepts the solution",
    ),
    "reopen": (
        "note",
        lambda s, i, a, t, v: s.reopen(i, a, t, expected_version=v),
        "the customer has further needs; back to the handler",
    ),
}


def _step_handler(action: str) -> Handler:
    field, call, does = _STEPS[action]

    @require(*ANY_ROLE)
    async def step(request: web.Request, agent: Agent) -> web.Response:
        body = await _body(request)
        value, version = body.text(field), _version(body)
        body.check()
        ticket = await call(request.app[SERVICES].tickets, _ticket_id(request), _actor(agent), value, version)
        return await _ticket_response(request, ticket)

    step.__doc__ = f"POST /api/tickets/{{id}}/{action}: {does}."
    return step


@require(*ANY_ROLE)
async def comment_ticket(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/tickets/{id}/comments: a note on the timeline, internal unless customer_visible."""
    body = await _body(request)
    text, visible = body.text("body"), body.boolean("customer_visible")
    body.check()
    entry = await request.app[SERVICES].tickets.comment(
        _ticket_id(request), _actor(agent), text, customer_visible=visible
    )
    names = await _names(request, (entry.actor_id,))
    return web.json_response({"entry": entry_json(entry, names)}, status=201)


@require(*ANY_ROLE)
async def suggestions(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/tickets/suggestions?category=X: who can take it, with workloads, and the best one."""
    fields = _Fields(request.query, query=True)
    category = fields.text("category", max_len=100)
    fields.check()
    options = await request.app[SERVICES].tickets.options(category)
    names = await _names(request, (h.agent_id for h in options.handlers))
    return web.json_response(
        {
            "category": options.category,
            "best": None if options.best is None else handler_json(options.best, names),
            "handlers": [handler_json(h, names) for h in options.handlers],
            "departments": [department_json(d) for d in options.departments],
        }
    )


# --- handlers and reports (supervisors) ----------------------------------------------------


@require(*SUPERVISORS)
async def list_handlers(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/handlers: every handler's department, skills, capacity and open workload."""
    loads = await request.app[SERVICES].tickets.handlers()
    names = await _names(request, (h.agent_id for h in loads))
    return web.json_response({"handlers": [handler_json(h, names) for h in loads]})


@require(*SUPERVISORS)
async def put_handler(request: web.Request, agent: Agent) -> web.Response:
    """PUT /api/handlers/{agent_id}: set who handles what (department, skills, capacity)."""
    services = request.app[SERVICES]
    agent_id = int(request.match_info["agent_id"])
    body = await _body(request)
    department = body.text("department", max_len=_SERVICE_CHECKED)
    skills = body.strings("skills", max_items=100, max_len=100)
    # The service says which capacities make sense; here only that it is a number.
    capacity = body.integer("capacity", low=-MAX_ID, high=MAX_ID, what="a whole number")
    if capacity is None and "capacity" not in body.problems:
        body.problems["capacity"] = "required"
    body.check()
    assert capacity is not None
    # Accounts are this layer's own records: whether the agent exists is for it to say.
    if agent_id not in await services.accounts.display_names({agent_id}):
        raise ValidationFailedError({"agent_id": f"there is no agent {agent_id}"})
    await services.tickets.set_handler(agent_id, department=department, skills=skills, capacity=capacity)
    log.info("handler profile of agent %d set by %s", agent_id, agent.username)
    return web.Response(status=204)


@require(*SUPERVISORS)
async def reopen_report(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/reports/reopens?days=30: resolutions and reopens per handler and category."""
    services = request.app[SERVICES]
    fields = _Fields(request.query, query=True)
    days = fields.integer("days", low=1, high=MAX_REPORT_DAYS, default=30)
    fields.check()
    since = services.now() - timedelta(days=days or 30)
    counts = await services.tickets.reopen_counts(since)
    names = await _names(request, (c.assignee_id for c in counts))
    return web.json_response(
        {
            "since": since.isoformat(),
            "rows": [
                {
                    "assignee": None
                    if c.assignee_id is None
                    else {"id": c.assignee_id, "name": names.get(c.assignee_id)},
                    "category": c.category,
                    "resolved": c.resolved,
                    "reopened": c.reopened,
                    "reopen_rate": round(c.reopened / c.resolved, 4) if c.resolved else None,
                }
                for c in counts
            ],
        }
    )


# --- the customer page ---------------------------------------------------------------------


@require(*ANY_ROLE)
async def customer_page(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/customers/{id}: the customer, their timeline (newest first) and tickets (open first)."""
    services = request.app[SERVICES]
    customer_id = int(request.match_info["id"])
    customer = await services.customers.get(customer_id)
    timeline = await services.customers.timeline(customer_id)
    open_page = await services.tickets.search(
        TicketQuery(customer_id=customer_id, open_only=True, limit=MAX_PAGE)
    )
    done_page = await services.tickets.search(
        TicketQuery(
            customer_id=customer_id, statuses=(TicketStatus.RESOLVED, TicketStatus.CLOSED), limit=MAX_PAGE
        )
    )
    done = sorted(done_page.tickets, key=lambda t: (t.updated_at, t.id), reverse=True)
    tickets = (*open_page.tickets, *done)
    names = await _names(request, (i for t in tickets for i in _people(t)))
    return web.json_response(
        {
            "customer": customer_json(customer),
            "timeline": [
                {"occurred_at": i.occurred_at.isoformat(), "channel": i.channel, "summary": i.summary}
                for i in timeline
            ],
            "tickets": [ticket_json(t, names) for t in tickets],
        }
    )


# --- the customer's confirm link (no login) ------------------------------------------------


def _confirm_key(request: web.Request) -> str:
    return f"addr:{request.remote}"


def _check_rate(request: web.Request) -> None:
    wait_s = request.app[CONFIRM_LIMITER].retry_after(_confirm_key(request), time.monotonic())
    if wait_s:
        raise RateLimitedError(wait_s)


def _count_failure(request: web.Request) -> None:
    # Successes do not clear the count: one valid link must not buy unlimited guesses.
    request.app[CONFIRM_LIMITER].fail(_confirm_key(request), time.monotonic())
    log.info("invalid confirm link from %s", request.remote)


def _token(body: _Fields) -> str:
    token = body.text("token", max_len=_SERVICE_CHECKED)
    body.check()
    return token


async def confirm_lookup(request: web.Request) -> web.Response:
    """POST /api/confirm/lookup {token}: what the customer is asked to confirm, and nothing internal."""
    _check_rate(request)
    token = _token(await _body(request))
    service = request.app[SERVICES].tickets
    try:
        ticket = await service.confirmation(token)
    except ConfirmationInvalidError:
        _count_failure(request)
        raise
    return web.json_response(
        {
            "ticket": {
                "number": ticket.number,
                "subject": ticket.subject,
                "resolution": ticket.resolution,
                "customer_name": ticket.customer_name,
                "resolved_at": None if ticket.resolved_at is None else ticket.resolved_at.isoformat(),
            }
        }
    )


async def confirm_answer(request: web.Request) -> web.Response:
    """POST /api/confirm {token, accepted, note?}: the customer accepts (closed) or reopens."""
    _check_rate(request)
    body = await _body(request)
    accepted = body.boolean("accepted", default=None)
    note = body.text("note")
    token = _token(body)
    try:
        ticket = await request.app[SERVICES].tickets.answer(token, accepted=accepted, note=note)
    except ConfirmationInvalidError:
        _count_failure(request)
        raise
    return web.json_response({"status": ticket.status.value})


def add_ticket_routes(app: web.Application) -> None:
    """Register the service flow's routes (and the confirm-link limiter) on the application."""
    app[CONFIRM_LIMITER] = AttemptLimiter(limit=CONFIRM_FAILURES_PER_5MIN, window_s=300)
    router = app.router
    router.add_get("/api/tickets/meta", ticket_meta)
    router.add_get("/api/tickets/suggestions", suggestions)
    router.add_post("/api/tickets", create_ticket)
    router.add_get("/api/tickets", list_tickets)
    router.add_get(f"/api/tickets/{_TICKET_ID}", get_ticket)
    router.add_post(f"/api/tickets/{_TICKET_ID}/assign", assign_ticket)
    for action in _STEPS:
        router.add_post(f"/api/tickets/{_TICKET_ID}/{action}", _step_handler(action))
    router.add_post(f"/api/tickets/{_TICKET_ID}/comments", comment_ticket)
    router.add_get("/api/handlers", list_handlers)
    router.add_put(r"/api/handlers/{agent_id:\d{1,18}}", put_handler)
    router.add_get("/api/reports/reopens", reopen_report)
    router.add_get(r"/api/customers/{id:\d{1,18}}", customer_page)
    router.add_post("/api/confirm/lookup", confirm_lookup)
    router.add_post("/api/confirm", confirm_answer)
