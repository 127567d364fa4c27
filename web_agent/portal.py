"""The customer self-service portal (/portal, no agent login): FAQ, ticket status, new requests.

Customers see only published public articles, and a ticket only when they give its number with
the email or phone on it; a wrong pair gets the same answer as a ticket that does not exist
(tickets.errors.TicketLookupFailedError). Every endpoint is limited per address: status
lookups by failed attempts (guessing), searches and new requests by attempts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Annotated

import msgspec
from aiohttp import web

from knowledge_base import KnowledgeBase
from tickets import (
    CUSTOMER,
    Channel,
    InvalidTicketError,
    NewTicket,
    Ticket,
    TicketLookupFailedError,
    TicketStatus,
)
from web_agent.api import MAX_BODY_BYTES, SERVICES
from web_agent.app import STATIC_DIR
from web_agent.errors import RateLimitedError, ValidationFailedError
from web_agent.kb_api import KNOWLEDGE_BASE, ArticleSearch, HitList, HitView
from web_agent.ratelimit import AttemptLimiter
from web_agent.routes import (
    DATABASE_ERRORS,
    PUBLIC,
    IdPath,
    Instant,
    JsonBody,
    Reply,
    Routes,
    one_line,
    stripped,
)

log = logging.getLogger(__name__)

ROUTES = Routes("portal")
POPULAR_PER_CATEGORY = 3
MAX_CONTACT_CHARS = 254


@dataclass(frozen=True)
class PortalLimits:
    """Per-address limits of the portal: failed status lookups, searches and new requests."""

    lookups: AttemptLimiter
    searches: AttemptLimiter
    requests: AttemptLimiter

    @classmethod
    def default(cls) -> PortalLimits:
        """10 wrong lookups per 5 minutes, 120 searches a minute, 5 new requests per 10 minutes."""
        return cls(
            lookups=AttemptLimiter(limit=10, window_s=300),
            searches=AttemptLimiter(limit=120, window_s=60),
            requests=AttemptLimiter(limit=5, window_s=600),
        )


PORTAL_LIMITS = web.AppKey("portal_limits", PortalLimits)

# What a customer reads for each status: no internal words (assignee, department, SLA).
_STATUS_TEXT = {
    TicketStatus.NEW: "Received: waiting for a handler",
    TicketStatus.ASSIGNED: "Assigned to a handler",
    TicketStatus.IN_PROGRESS: "Being worked on",
    TicketStatus.WAITING: "Waiting for your reply",
    TicketStatus.RESOLVED: "Resolved: please confirm the solution",
    TicketStatus.CLOSED: "Closed",
    TicketStatus.REOPENED: "Reopened: being worked on again",
}


# The intake's field names as the portal's form calls them; "no customer" is the form's "email" problem.
_PORTAL_FIELD: dict[str, str | None] = {
    "contact_name": "name",
    "contact_email": "email",
    "contact_phone": "phone",
    "customer_id": None,
}


def _key(request: web.Request) -> str:
    return f"addr:{request.remote}"


def _check(limiter: AttemptLimiter, request: web.Request) -> None:
    wait_s = limiter.retry_after(_key(request), time.monotonic())
    if wait_s:
        raise RateLimitedError(wait_s)


def _count(limiter: AttemptLimiter, request: web.Request) -> None:
    limiter.fail(_key(request), time.monotonic())


class CustomerTicketView(Reply):
    """What a customer may see of their ticket: no handler, notes or deadlines."""

    number: str
    subject: str
    category: str
    status: TicketStatus
    status_text: str
    opened_at: Instant
    updated_at: Instant
    resolution: str | None

    @classmethod
    def of(cls, ticket: Ticket) -> CustomerTicketView:
        """The customer's view of a ticket (the resolution once there is one to confirm)."""
        done = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        return cls(
            number=ticket.number,
            subject=ticket.subject,
            category=ticket.category,
            status=ticket.status,
            status_text=_STATUS_TEXT[ticket.status],
            opened_at=ticket.created_at.isoformat(),
            updated_at=ticket.updated_at.isoformat(),
            resolution=ticket.resolution if done else None,
        )


class CustomerTicketReply(Reply):
    """A ticket as its customer sees it."""

    ticket: CustomerTicketView


async def portal_page(request: web.Request) -> web.FileResponse:
    """GET /portal: the self-service page."""
    return web.FileResponse(STATIC_DIR / "portal.html", headers={"Cache-Control": "no-cache"})


class PortalMeta(Reply):
    """The request categories and the most read answers of each."""

    categories: list[str]
    popular: list[HitView]


@ROUTES.get("/api/portal/meta", roles=PUBLIC, errors=DATABASE_ERRORS)
async def portal_meta(request: web.Request) -> PortalMeta:
    """The portal's request categories and the most read public answers of each (no login)."""
    categories = request.app[SERVICES].tickets.categories
    kb = request.app[KNOWLEDGE_BASE]
    popular = [h for c in categories for h in await kb.top_articles(c, limit=POPULAR_PER_CATEGORY)]
    return PortalMeta(list(categories), [HitView.of(h) for h in popular])


@ROUTES.get("/api/portal/faq", roles=PUBLIC, errors=("auth.rate_limited", *DATABASE_ERRORS))
async def portal_faq(request: web.Request, *, query: ArticleSearch) -> HitList:
    """Search the published public answers (no login, rate-limited per address)."""
    limiter = request.app[PORTAL_LIMITS].searches
    _check(limiter, request)
    _count(limiter, request)
    hits = await request.app[KNOWLEDGE_BASE].search(
        query.q, category=stripped(query.category), limit=query.limit
    )
    return HitList([HitView.of(h) for h in hits])


class PublicArticle(Reply):
    """A published public answer."""

    article_id: int
    title: str
    body: str
    category: str


class PublicArticleReply(Reply):
    """One published public answer."""

    article: PublicArticle


@ROUTES.get(
    "/api/portal/faq/{id}", roles=PUBLIC, errors=("kb.not_found", "auth.rate_limited", *DATABASE_ERRORS)
)
async def portal_article(request: web.Request, *, path: IdPath) -> PublicArticleReply:
    """One published public answer, counted as read (no login, rate-limited per address)."""
    limiter = request.app[PORTAL_LIMITS].searches
    _check(limiter, request)
    _count(limiter, request)
    article = await request.app[KNOWLEDGE_BASE].public_article(path.id)
    content = article.content
    return PublicArticleReply(PublicArticle(article.id, content.title, content.body, content.category))


class StatusBody(JsonBody):
    """Which ticket, and the email or phone on it."""

    ticket: Annotated[
        str,
        msgspec.Meta(
            max_length=40,
            pattern=r"^\s*#?[0-9]{1,18}\s*$",
            extra={"expected": "the ticket number from our message, digits only (e.g. 1042)"},
        ),
    ]
    contact: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_CONTACT_CHARS,
            pattern=r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]*$",
            extra={"expected": "the email or phone number you gave us, on one line"},
        ),
    ]


@ROUTES.post(
    "/api/portal/status",
    roles=PUBLIC,
    errors=("portal.ticket_not_found", "auth.rate_limited", *DATABASE_ERRORS),
)
async def portal_status(request: web.Request, *, body: StatusBody) -> CustomerTicketReply:
    """A ticket's status, given its number and the email or phone on it (no login, failures rate-limited).

    A wrong pair gets the same 404 portal.ticket_not_found as a missing ticket.
    """
    limiter = request.app[PORTAL_LIMITS].lookups
    _check(limiter, request)
    number = int(body.ticket.strip().lstrip("#"))
    try:
        ticket = await request.app[SERVICES].tickets.status_for_contact(number, body.contact.strip())
    except TicketLookupFailedError:
        # Wrong pairs and unknown numbers count alike: guessing numbers is slowed down the same way.
        _count(limiter, request)
        log.info("portal status lookup failed from %s", request.remote)
        raise
    return CustomerTicketReply(CustomerTicketView.of(ticket))


class RequestBody(JsonBody):
    """A customer's request; name and an email or a phone to answer them on are required."""

    name: Annotated[str, one_line(200)] = ""
    email: Annotated[str, one_line(MAX_CONTACT_CHARS)] | None = None
    phone: Annotated[str, one_line(40)] | None = None
    subject: Annotated[str, msgspec.Meta(max_length=400)] = ""
    description: Annotated[str, msgspec.Meta(max_length=MAX_BODY_BYTES)] = ""
    category: Annotated[str, msgspec.Meta(max_length=40)] = ""


@ROUTES.post(
    "/api/portal/requests",
    roles=PUBLIC,
    status=201,
    errors=("auth.rate_limited", "tickets.conflict", "service.retry", *DATABASE_ERRORS),
)
async def portal_request(request: web.Request, *, body: RequestBody) -> CustomerTicketReply:
    """Open a request (a ticket on channel portal; no login, rate-limited per address)."""
    limiter = request.app[PORTAL_LIMITS].requests
    _check(limiter, request)
    name, email, phone = body.name.strip(), stripped(body.email), stripped(body.phone)
    # One answer listing every problem: the portal's own, and the intake's in the form's words.
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = "required: how we should address you"
    if email is None and phone is None:
        problems["email"] = "give an email or a phone number so we can answer you"
    services = request.app[SERVICES]
    try:
        new = NewTicket.create(
            subject=body.subject,
            description=body.description,
            category=body.category,
            channel=Channel.PORTAL,
            categories=services.tickets.categories,
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
        )
    except InvalidTicketError as exc:
        for field, problem in exc.problems.items():
            portal_field = _PORTAL_FIELD.get(field, field)
            if portal_field is not None:
                problems.setdefault(portal_field, problem)
        if problems:
            raise ValidationFailedError(problems) from None
        raise
    if problems:
        raise ValidationFailedError(problems)
    _count(limiter, request)
    ticket = await services.tickets.open(new, CUSTOMER, auto_assign=True)
    log.info("portal request from %s opened ticket %d", request.remote, ticket.id)
    return CustomerTicketReply(CustomerTicketView.of(ticket))


def add_portal_routes(app: web.Application, kb: KnowledgeBase, limits: PortalLimits | None = None) -> None:
    """Register the portal page and its endpoints (no login) on the application."""
    app[KNOWLEDGE_BASE] = kb
    app[PORTAL_LIMITS] = limits or PortalLimits.default()
    ROUTES.add_to(app)
    app.router.add_get("/portal", portal_page)
