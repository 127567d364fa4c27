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
from typing import Any

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
from web_agent.api import MAX_ID, SERVICES, Fields, json_object
from web_agent.app import STATIC_DIR
from web_agent.errors import RateLimitedError
from web_agent.kb_api import KNOWLEDGE_BASE, hit_json, search_fields
from web_agent.ratelimit import AttemptLimiter

log = logging.getLogger(__name__)

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


def customer_ticket_json(ticket: Ticket) -> dict[str, Any]:
    """What a customer may see of their ticket: no handler, notes or deadlines."""
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "category": ticket.category,
        "status": ticket.status.value,
        "status_text": _STATUS_TEXT[ticket.status],
        "opened_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "resolution": ticket.resolution
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        else None,
    }


async def portal_page(request: web.Request) -> web.FileResponse:
    """GET /portal: the self-service page."""
    return web.FileResponse(STATIC_DIR / "portal.html", headers={"Cache-Control": "no-cache"})


async def portal_meta(request: web.Request) -> web.Response:
    """GET /api/portal/meta: the request categories and the most read answers of each."""
    categories = request.app[SERVICES].tickets.categories
    kb = request.app[KNOWLEDGE_BASE]
    popular = [h for c in categories for h in await kb.top_articles(c, limit=POPULAR_PER_CATEGORY)]
    return web.json_response({"categories": list(categories), "popular": [hit_json(h) for h in popular]})


async def portal_faq(request: web.Request) -> web.Response:
    """GET /api/portal/faq?q=&category=&limit=: published public answers matching the words."""
    limiter = request.app[PORTAL_LIMITS].searches
    _check(limiter, request)
    _count(limiter, request)
    text, category, limit = search_fields(request)
    hits = await request.app[KNOWLEDGE_BASE].search(text, category=category, limit=limit)
    return web.json_response({"hits": [hit_json(h) for h in hits]})


async def portal_article(request: web.Request) -> web.Response:
    """GET /api/portal/faq/{id}: one published public answer (counted as read)."""
    limiter = request.app[PORTAL_LIMITS].searches
    _check(limiter, request)
    _count(limiter, request)
    article = await request.app[KNOWLEDGE_BASE].public_article(int(request.match_info["id"]))
    content = article.content
    return web.json_response(
        {
            "article": {
                "article_id": article.id,
                "title": content.title,
                "body": content.body,
                "category": content.category,
            }
        }
    )


async def portal_status(request: web.Request) -> web.Response:
    """POST /api/portal/status {ticket, contact}: the ticket's status, if the contact is the ticket's."""
    limiter = request.app[PORTAL_LIMITS].lookups
    _check(limiter, request)
    fields = Fields(await json_object(request))
    raw_number = fields.text("ticket", max_len=40, line=True).strip().lstrip("#")
    contact = fields.text("contact", max_len=MAX_CONTACT_CHARS, line=True).strip()
    if not raw_number:
        fields.problems["ticket"] = "required: the ticket number from our message"
    elif not raw_number.isascii() or not raw_number.isdigit() or int(raw_number) > MAX_ID:
        fields.problems["ticket"] = "digits only, as in our message (e.g. 1042)"
    if not contact:
        fields.problems["contact"] = "required: the email or phone number you gave us"
    fields.check()
    try:
        ticket = await request.app[SERVICES].tickets.status_for_contact(int(raw_number), contact)
    except TicketLookupFailedError:
        # Wrong pairs and unknown numbers count alike: guessing numbers is slowed down the same way.
        _count(limiter, request)
        log.info("portal status lookup failed from %s", request.remote)
        raise
    return web.json_response({"ticket": customer_ticket_json(ticket)})


async def portal_request(request: web.Request) -> web.Response:
    """POST /api/portal/requests {name, email?, phone?, subject, description, category}: open a ticket."""
    limiter = request.app[PORTAL_LIMITS].requests
    _check(limiter, request)
    fields = Fields(await json_object(request))
    name = fields.text("name", max_len=200, line=True).strip()
    email = fields.optional_text("email", max_len=MAX_CONTACT_CHARS)
    phone = fields.optional_text("phone", max_len=40)
    subject = fields.text("subject", max_len=400)
    description = fields.text("description")
    category = fields.text("category", max_len=40)
    if not name:
        fields.problems["name"] = "required: how we should address you"
    if email is None and phone is None:
        fields.problems["email"] = "give an email or a phone number so we can answer you"
    services = request.app[SERVICES]
    try:
        new = NewTicket.create(
            subject=subject,
            description=description,
            category=category,
            channel=Channel.PORTAL,
            categories=services.tickets.categories,
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
        )
    except InvalidTicketError as exc:
        # One answer listing every problem; "no customer" is the portal's "email" problem above.
        for field, problem in exc.problems.items():
            portal_field = _PORTAL_FIELD.get(field, field)
            if portal_field is not None:
                fields.problems.setdefault(portal_field, problem)
        fields.check()
        raise
    fields.check()
    _count(limiter, request)
    ticket = await services.tickets.open(new, CUSTOMER, auto_assign=True)
    log.info("portal request from %s opened ticket %d", request.remote, ticket.id)
    return web.json_response({"ticket": customer_ticket_json(ticket)}, status=201)


def add_portal_routes(app: web.Application, kb: KnowledgeBase, limits: PortalLimits | None = None) -> None:
    """Register the portal page and its endpoints (no login) on the application."""
    app[KNOWLEDGE_BASE] = kb
    app[PORTAL_LIMITS] = limits or PortalLimits.default()
    router = app.router
    router.add_get("/portal", portal_page)
    router.add_get("/api/portal/meta", portal_meta)
    router.add_get("/api/portal/faq", portal_faq)
    router.add_get(r"/api/portal/faq/{id:\d{1,18}}", portal_article)
    router.add_post("/api/portal/status", portal_status)
    router.add_post("/api/portal/requests", portal_request)
