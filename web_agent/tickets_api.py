"""HTTP for the service flow: /api/tickets, handlers, the reopen report, the customer page, confirm links.

Handlers only translate. The route layer decodes what comes in into the types below (shapes,
ranges, one line where a header or an AMI field is at stake); the handler calls TicketService and
answers with the views of web_agent.ticket_json. Every rule (who may act, which transition is
allowed, what a note may hold) is the service's; its errors become HTTP in app.py's one error table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated

import msgspec
from aiohttp import web

from agents import Agent, Role
from tickets import (
    MAX_PAGE,
    MAX_SUBJECT_CHARS,
    MAX_TEXT_CHARS,
    Actor,
    Channel,
    ConfirmationInvalidError,
    NewTicket,
    Priority,
    Ticket,
    TicketQuery,
    TicketStatus,
)
from web_agent.api import ANY_ROLE, MAX_BODY_BYTES, MAX_ID, MAX_QUERY_CHARS, SERVICES, SUPERVISORS
from web_agent.errors import RateLimitedError, ValidationFailedError
from web_agent.ratelimit import AttemptLimiter
from web_agent.routes import (
    DATABASE_ERRORS,
    PUBLIC,
    Id,
    IdPath,
    Instant,
    JsonBody,
    PathId,
    PathParams,
    QueryString,
    Reply,
    Routes,
    Version,
    iso,
    one_line,
    stripped,
)
from web_agent.shapes import CustomerView, InteractionView, Person, person
from web_agent.ticket_json import DepartmentView, EntryView, HandlerView, NoticeView, TicketView

log = logging.getLogger(__name__)

ROUTES = Routes("tickets")
CONFIRM_LIMITER = web.AppKey("confirm_limiter", AttemptLimiter)
CONFIRM_FAILURES_PER_5MIN = 20
MAX_REPORT_DAYS = 366
DEFAULT_PAGE = 50
# What any ticket route can meet: a missing ticket, a tickets error without an id of its own, and two
# requests that locked rows in opposite orders.
_WRITE = ("tickets.not_found", "tickets.conflict", "service.retry")
_TRANSITION = (*_WRITE, "tickets.illegal_transition", "tickets.version_conflict", "tickets.not_yours")

# The service measures text once blanks are folded and lists what is too long: the edge only bounds it.
Note = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEXT_CHARS * 2,
        description=f"at most {MAX_TEXT_CHARS} characters once blanks are folded",
    ),
]
Category = Annotated[str, msgspec.Meta(max_length=100)]
# Free text the service checks itself (a call id): the body limit bounds it here.
ServiceLine = Annotated[str, one_line(MAX_BODY_BYTES)]


def _actor(agent: Agent) -> Actor:
    return Actor.agent(agent.id, supervisor=agent.role is not Role.AGENT)


async def _names(request: web.Request, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return await request.app[SERVICES].accounts.display_names(wanted)


def _people(ticket: Ticket) -> tuple[int | None, ...]:
    return (ticket.assignee_id, ticket.created_by)


class TicketReply(Reply):
    """One ticket."""

    ticket: TicketView


async def _ticket_reply(request: web.Request, ticket: Ticket) -> TicketReply:
    return TicketReply(TicketView.of(ticket, await _names(request, _people(ticket))))


# --- tickets -------------------------------------------------------------------------------


class TicketMeta(Reply):
    """The values a ticket's fields can take."""

    categories: list[str]
    priorities: list[Priority]
    channels: list[Channel]
    statuses: list[TicketStatus]


@ROUTES.get("/api/tickets/meta", roles=ANY_ROLE)
async def ticket_meta(request: web.Request, agent: Agent) -> TicketMeta:
    """The values ticket fields can take, for the desktop's forms."""
    return TicketMeta(
        categories=list(request.app[SERVICES].tickets.categories),
        priorities=list(Priority),
        channels=list(Channel),
        statuses=list(TicketStatus),
    )


class NewTicketBody(JsonBody):
    """A request taken in: from a pop (with its call and customer), the phone or the API."""

    subject: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_SUBJECT_CHARS * 2,
            description=f"at most {MAX_SUBJECT_CHARS} characters once blanks are folded",
        ),
    ] = ""
    description: Note = ""
    category: Category = ""
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.PHONE
    customer_id: Id | None = None
    contact_name: Annotated[str, one_line(200)] | None = None
    contact_email: Annotated[str, one_line(254)] | None = None
    contact_phone: Annotated[str, one_line(40)] | None = None
    call_id: ServiceLine | None = None
    assignee_id: Annotated[Id | None, msgspec.Meta(description="assign to this agent")] = None
    auto_assign: Annotated[bool, msgspec.Meta(description="assign to the best handler with room")] = False


@ROUTES.post(
    "/api/tickets",
    roles=ANY_ROLE,
    status=201,
    errors=("tickets.unknown_handler", "tickets.no_handler_available", "tickets.conflict", "service.retry"),
)
async def create_ticket(request: web.Request, agent: Agent, *, body: NewTicketBody) -> TicketReply:
    """Take in a request; optionally assign it to someone, or to the best handler."""
    service = request.app[SERVICES].tickets
    new = NewTicket.create(
        subject=body.subject,
        description=body.description,
        category=body.category,
        channel=body.channel,
        priority=body.priority,
        categories=service.categories,
        customer_id=body.customer_id,
        contact_name=body.contact_name or "",
        contact_email=stripped(body.contact_email),
        contact_phone=stripped(body.contact_phone),
        call_id=stripped(body.call_id),
    )
    ticket = await service.open(
        new, _actor(agent), assignee_id=body.assignee_id, auto_assign=body.auto_assign
    )
    return await _ticket_reply(request, ticket)


_STATUSES = "|".join(s.value for s in TicketStatus)


class TicketFilter(QueryString):
    """The filters and the page of a work list."""

    mine: Annotated[bool, msgspec.Meta(description="1: assigned to me")] = False
    assignee_id: Annotated[Id | None, msgspec.Meta(description="assigned to this agent")] = None
    unassigned: Annotated[bool, msgspec.Meta(description="1: nobody has it yet")] = False
    status: Annotated[
        str,
        msgspec.Meta(
            pattern=rf"^\s*(?:(?:{_STATUSES})\s*)?(?:,\s*(?:(?:{_STATUSES})\s*)?)*$",
            description="comma-separated statuses",
            extra={"expected": f"comma-separated, each one of {', '.join(s.value for s in TicketStatus)}"},
        ),
    ] = ""
    open: Annotated[bool, msgspec.Meta(description="1: not resolved or closed")] = False
    customer_id: Annotated[Id | None, msgspec.Meta(description="of this customer")] = None
    category: Annotated[
        Annotated[str, one_line(100)] | None, msgspec.Meta(description="of this category")
    ] = None
    priority: Annotated[Priority | None, msgspec.Meta(description="of this priority")] = None
    top_tier: Annotated[bool, msgspec.Meta(description="1: only top-tier customers")] = False
    q: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_QUERY_CHARS, description="words of the subject or customer name, or a number"
        ),
    ] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE, description="page size")] = DEFAULT_PAGE
    offset: Annotated[int, msgspec.Meta(ge=0, le=MAX_ID, description="tickets to skip")] = 0


class TicketPage(Reply):
    """One page of a work list, and how many tickets the whole list has."""

    tickets: list[TicketView]
    total: int
    limit: int
    offset: int


@ROUTES.get("/api/tickets", roles=ANY_ROLE)
async def list_tickets(request: web.Request, agent: Agent, *, query: TicketFilter) -> TicketPage:
    """A work list: top-tier customers first, then priority, then the nearest deadline."""
    if query.mine and query.assignee_id is not None and query.assignee_id != agent.id:
        raise ValidationFailedError({"assignee_id": "give mine=1 or assignee_id, not both"})
    search = TicketQuery(
        statuses=tuple(TicketStatus(s.strip()) for s in query.status.split(",") if s.strip()),
        open_only=query.open,
        assignee_id=agent.id if query.mine else query.assignee_id,
        unassigned=query.unassigned,
        customer_id=query.customer_id,
        category=stripped(query.category),
        priority=query.priority,
        top_tier_only=query.top_tier,
        text=stripped(query.q),
        limit=query.limit,
        offset=query.offset,
    )
    page = await request.app[SERVICES].tickets.search(search)
    names = await _names(request, (i for t in page.tickets for i in _people(t)))
    return TicketPage(
        tickets=[TicketView.of(t, names) for t in page.tickets],
        total=page.total,
        limit=search.limit,
        offset=search.offset,
    )


class TicketDetail(Reply):
    """A ticket, its audited timeline and its notices to the customer."""

    ticket: TicketView
    entries: list[EntryView]
    notices: list[NoticeView]


@ROUTES.get("/api/tickets/{id}", roles=ANY_ROLE, errors=_WRITE)
async def get_ticket(request: web.Request, agent: Agent, *, path: IdPath) -> TicketDetail:
    """A ticket with its audited timeline and its notices."""
    detail = await request.app[SERVICES].tickets.detail(path.id)
    names = await _names(request, (*_people(detail.ticket), *(e.actor_id for e in detail.entries)))
    return TicketDetail(
        ticket=TicketView.of(detail.ticket, names),
        entries=[EntryView.of(e, names) for e in detail.entries],
        notices=[NoticeView.of(n) for n in detail.notices],
    )


class AssignBody(JsonBody):
    """To whom (none: the best handler with room), why, and the version read."""

    assignee_id: Id | None = None
    note: Note = ""
    version: Version | None = None


@ROUTES.post(
    "/api/tickets/{id}/assign",
    roles=ANY_ROLE,
    errors=(*_TRANSITION, "tickets.unknown_handler", "tickets.no_handler_available"),
)
async def assign_ticket(request: web.Request, agent: Agent, *, path: IdPath, body: AssignBody) -> TicketReply:
    """Assign to assignee_id, or with none to the best handler with room (history is kept)."""
    ticket = await request.app[SERVICES].tickets.assign(
        path.id, _actor(agent), assignee_id=body.assignee_id, note=body.note, expected_version=body.version
    )
    return await _ticket_reply(request, ticket)


class NoteBody(JsonBody):
    """A step of the flow: its note (the service says when one is required) and the version read."""

    note: Note = ""
    version: Version | None = None


class ResolutionBody(JsonBody):
    """The solution the customer is told about, and the version read."""

    resolution: Note = ""
    version: Version | None = None


@ROUTES.post("/api/tickets/{id}/respond", roles=ANY_ROLE, errors=_TRANSITION)
async def respond(request: web.Request, agent: Agent, *, path: IdPath, body: NoteBody) -> TicketReply:
    """The first response to the customer (customer-visible)."""
    service = request.app[SERVICES].tickets
    ticket = await service.respond(path.id, _actor(agent), body.note, expected_version=body.version)
    return await _ticket_reply(request, ticket)


@ROUTES.post("/api/tickets/{id}/wait", roles=ANY_ROLE, errors=_TRANSITION)
async def wait(request: web.Request, agent: Agent, *, path: IdPath, body: NoteBody) -> TicketReply:
    """Waiting on the customer: the resolution clock stops."""
    service = request.app[SERVICES].tickets
    ticket = await service.wait_on_customer(path.id, _actor(agent), body.note, expected_version=body.version)
    return await _ticket_reply(request, ticket)


@ROUTES.post("/api/tickets/{id}/resume", roles=ANY_ROLE, errors=_TRANSITION)
async def resume(request: web.Request, agent: Agent, *, path: IdPath, body: NoteBody) -> TicketReply:
    """The customer came back: the resolution clock runs again."""
    service = request.app[SERVICES].tickets
    ticket = await service.resume(path.id, _actor(agent), body.note, expected_version=body.version)
    return await _ticket_reply(request, ticket)


@ROUTES.post("/api/tickets/{id}/resolve", roles=ANY_ROLE, errors=_TRANSITION)
async def resolve(request: web.Request, agent: Agent, *, path: IdPath, body: ResolutionBody) -> TicketReply:
    """Record the solution; the customer is notified and asked to confirm."""
    service = request.app[SERVICES].tickets
    ticket = await service.resolve(path.id, _actor(agent), body.resolution, expected_version=body.version)
    return await _ticket_reply(request, ticket)


@ROUTES.post("/api/tickets/{id}/confirm", roles=ANY_ROLE, errors=_TRANSITION)
async def confirm(request: web.Request, agent: Agent, *, path: IdPath, body: NoteBody) -> TicketReply:
    """Record the customer's acceptance (e.g. on the phone): closed."""
    service = request.app[SERVICES].tickets
    ticket = await service.confirm(path.id, _actor(agent), body.note, expected_version=body.version)
    return await _ticket_reply(request, ticket)


@ROUTES.post("/api/tickets/{id}/reopen", roles=ANY_ROLE, errors=_TRANSITION)
async def reopen(request: web.Request, agent: Agent, *, path: IdPath, body: NoteBody) -> TicketReply:
    """The customer has further needs: reopened, back to the handler."""
    service = request.app[SERVICES].tickets
    ticket = await service.reopen(path.id, _actor(agent), body.note, expected_version=body.version)
    return await _ticket_reply(request, ticket)


class CommentBody(JsonBody):
    """A note on the timeline."""

    body: Note = ""
    customer_visible: bool = False


class EntryReply(Reply):
    """One timeline entry."""

    entry: EntryView


@ROUTES.post("/api/tickets/{id}/comments", roles=ANY_ROLE, status=201, errors=_WRITE)
async def comment_ticket(
    request: web.Request, agent: Agent, *, path: IdPath, body: CommentBody
) -> EntryReply:
    """Add a note to the timeline (internal unless customer_visible)."""
    entry = await request.app[SERVICES].tickets.comment(
        path.id, _actor(agent), body.body, customer_visible=body.customer_visible
    )
    return EntryReply(EntryView.of(entry, await _names(request, (entry.actor_id,))))


class SuggestionQuery(QueryString):
    """The category of the ticket to place."""

    category: Annotated[str, msgspec.Meta(max_length=100, description="the ticket's category")]


class Suggestions(Reply):
    """Who can take a ticket of a category, with their open workload, and the best one."""

    category: str
    best: HandlerView | None
    handlers: list[HandlerView]
    departments: list[DepartmentView]


@ROUTES.get("/api/tickets/suggestions", roles=ANY_ROLE)
async def suggestions(request: web.Request, agent: Agent, *, query: SuggestionQuery) -> Suggestions:
    """Who can take a ticket of a category, with their open workload, and the best one."""
    options = await request.app[SERVICES].tickets.options(query.category)
    names = await _names(request, (h.agent_id for h in options.handlers))
    return Suggestions(
        category=options.category,
        best=None if options.best is None else HandlerView.of(options.best, names),
        handlers=[HandlerView.of(h, names) for h in options.handlers],
        departments=[DepartmentView.of(d) for d in options.departments],
    )


# --- handlers and reports (supervisors) ----------------------------------------------------


class HandlerList(Reply):
    """Every handler."""

    handlers: list[HandlerView]


@ROUTES.get("/api/handlers", roles=SUPERVISORS)
async def list_handlers(request: web.Request, agent: Agent) -> HandlerList:
    """Every handler with department, skills, capacity and open workload."""
    loads = await request.app[SERVICES].tickets.handlers()
    names = await _names(request, (h.agent_id for h in loads))
    return HandlerList([HandlerView.of(h, names) for h in loads])


class HandlerPath(PathParams):
    """The agent whose handler profile is set."""

    agent_id: PathId


class HandlerBody(JsonBody):
    """Who handles what: the service says which departments, skills and capacities make sense."""

    skills: Annotated[list[Annotated[str, msgspec.Meta(max_length=100)]], msgspec.Meta(max_length=100)]
    capacity: Annotated[int, msgspec.Meta(ge=-MAX_ID, le=MAX_ID, extra={"expected": "a whole number"})]
    department: Annotated[str, msgspec.Meta(max_length=MAX_BODY_BYTES)] = ""


@ROUTES.put("/api/handlers/{agent_id}", roles=SUPERVISORS, status=204)
async def put_handler(request: web.Request, agent: Agent, *, path: HandlerPath, body: HandlerBody) -> None:
    """Set an agent's handler profile: department, skills (categories) and capacity."""
    services = request.app[SERVICES]
    # Accounts are this layer's own records: whether the agent exists is for it to say.
    if path.agent_id not in await services.accounts.display_names({path.agent_id}):
        raise ValidationFailedError({"agent_id": f"there is no agent {path.agent_id}"})
    await services.tickets.set_handler(
        path.agent_id, department=body.department, skills=body.skills, capacity=body.capacity
    )
    log.info("handler profile of agent %d set by %s", path.agent_id, agent.username)


class ReopenQuery(QueryString):
    """The report's span."""

    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_REPORT_DAYS, description="the last so many days")] = 30


class ReopenRow(Reply):
    """One handler's resolutions and reopens in one category."""

    assignee: Person | None
    category: str
    resolved: int
    reopened: int
    reopen_rate: float | None


class ReopenReport(Reply):
    """Resolutions and reopens per handler and category since a time."""

    since: Instant
    rows: list[ReopenRow]


@ROUTES.get("/api/reports/reopens", roles=SUPERVISORS)
async def reopen_report(request: web.Request, agent: Agent, *, query: ReopenQuery) -> ReopenReport:
    """Resolutions and reopens per handler and category."""
    services = request.app[SERVICES]
    since = services.now() - timedelta(days=query.days)
    counts = await services.tickets.reopen_counts(since)
    names = await _names(request, (c.assignee_id for c in counts))
    return ReopenReport(
        since=since.isoformat(),
        rows=[
            ReopenRow(
                assignee=person(c.assignee_id, names),
                category=c.category,
                resolved=c.resolved,
                reopened=c.reopened,
                reopen_rate=round(c.reopened / c.resolved, 4) if c.resolved else None,
            )
            for c in counts
        ],
    )


# --- the customer page ---------------------------------------------------------------------


class CustomerPage(Reply):
    """The customer, their timeline (newest first) and their tickets (open first)."""

    customer: CustomerView
    timeline: list[InteractionView]
    tickets: list[TicketView]


@ROUTES.get("/api/customers/{id}", roles=ANY_ROLE, errors=("customers.not_found",))
async def customer_page(request: web.Request, agent: Agent, *, path: IdPath) -> CustomerPage:
    """The customer page: the customer, their timeline (newest first) and tickets (open first)."""
    services = request.app[SERVICES]
    customer = await services.customers.get(path.id)
    timeline = await services.customers.timeline(path.id)
    open_page = await services.tickets.search(
        TicketQuery(customer_id=path.id, open_only=True, limit=MAX_PAGE)
    )
    done_page = await services.tickets.search(
        TicketQuery(
            customer_id=path.id, statuses=(TicketStatus.RESOLVED, TicketStatus.CLOSED), limit=MAX_PAGE
        )
    )
    done = sorted(done_page.tickets, key=lambda t: (t.updated_at, t.id), reverse=True)
    tickets = (*open_page.tickets, *done)
    names = await _names(request, (i for t in tickets for i in _people(t)))
    return CustomerPage(
        customer=CustomerView.of(customer),
        timeline=[InteractionView.of(i) for i in timeline],
        tickets=[TicketView.of(t, names) for t in tickets],
    )


# --- the customer's confirm link (no login) ------------------------------------------------

_CONFIRM_ERRORS = ("tickets.confirmation_invalid", "auth.rate_limited", *DATABASE_ERRORS)
ConfirmToken = Annotated[
    str, msgspec.Meta(max_length=MAX_BODY_BYTES, description="from the link's #fragment")
]


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


class ConfirmLookupBody(JsonBody):
    """The token of a confirm link."""

    token: ConfirmToken


class ConfirmView(Reply):
    """What the customer is asked to confirm, and nothing internal."""

    number: str
    subject: str
    resolution: str | None
    customer_name: str
    resolved_at: Instant | None


class ConfirmLookupReply(Reply):
    """The resolved ticket of a confirm link."""

    ticket: ConfirmView


@ROUTES.post("/api/confirm/lookup", roles=PUBLIC, errors=_CONFIRM_ERRORS)
async def confirm_lookup(request: web.Request, *, body: ConfirmLookupBody) -> ConfirmLookupReply:
    """The customer's confirm link: what they are asked to confirm (no login, rate-limited)."""
    _check_rate(request)
    try:
        ticket = await request.app[SERVICES].tickets.confirmation(body.token)
    except ConfirmationInvalidError:
        _count_failure(request)
        raise
    return ConfirmLookupReply(
        ConfirmView(
            number=ticket.number,
            subject=ticket.subject,
            resolution=ticket.resolution,
            customer_name=ticket.customer_name,
            resolved_at=iso(ticket.resolved_at),
        )
    )


class ConfirmAnswerBody(JsonBody):
    """The customer's answer: accepted (closed), or not, with what is still wrong."""

    token: ConfirmToken
    accepted: bool
    note: Note = ""


class ConfirmAnswerReply(Reply):
    """The ticket's status after the answer."""

    status: TicketStatus


@ROUTES.post(
    "/api/confirm",
    roles=PUBLIC,
    errors=(*_CONFIRM_ERRORS, "tickets.illegal_transition", "tickets.conflict", "service.retry"),
)
async def confirm_answer(request: web.Request, *, body: ConfirmAnswerBody) -> ConfirmAnswerReply:
    """The customer accepts the solution (closed) or reopens with a note (no login, rate-limited)."""
    _check_rate(request)
    try:
        ticket = await request.app[SERVICES].tickets.answer(
            body.token, accepted=body.accepted, note=body.note
        )
    except ConfirmationInvalidError:
        _count_failure(request)
        raise
    return ConfirmAnswerReply(ticket.status)


def add_ticket_routes(app: web.Application) -> None:
    """Register the service flow's routes (and the confirm-link limiter) on the application."""
    app[CONFIRM_LIMITER] = AttemptLimiter(limit=CONFIRM_FAILURES_PER_5MIN, window_s=300)
    ROUTES.add_to(app)
