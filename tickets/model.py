"""Tickets and their state machine (pure: no I/O, time passed in).

The service flow, as a call center runs it:

    NEW --assign--> ASSIGNED --respond--> IN_PROGRESS <--resume-- WAITING
                         \\                   |  \\--wait-------------^  |
                          \\--resolve--> RESOLVED <--resolve------------/
                                          |   \\--reopen--> REOPENED --respond/resolve--> ...
                                          \\--confirm--> CLOSED

Reassignment keeps the status. Resolving straight from ASSIGNED (fixed on the first call)
counts as the first response too. CLOSED is final: a new need after confirmation is a new ticket.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from tickets.errors import IllegalTransitionError, InvalidTicketError

MAX_SUBJECT_CHARS = 200
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]{1,63}(\.[^@\s.]{1,63})+")
_PHONE = re.compile(r"\+?[0-9 ()-]{3,40}")
# Unicode category Cc is exactly C0, DEL and C1; free text keeps its newlines and tabs. A lone CR
# is dropped too, after CRLF became LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]+")
MAX_TEXT_CHARS = 10_000


class Priority(enum.Enum):
    """How urgent a request is; with the customer's tier it sets the SLA targets."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher is more urgent (work lists sort by it)."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(enum.Enum):
    """Where a request came in."""

    PHONE = "phone"
    PORTAL = "portal"
    IVR = "ivr"
    EMAIL = "email"
    API = "api"


class TicketStatus(enum.Enum):
    """Where a ticket stands in the service flow."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def is_open(self) -> bool:
        """Still work for a handler (counts towards their workload)."""
        return self not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class TicketAction(enum.Enum):
    """What someone does to a ticket; each is one audited transition."""

    ASSIGN = "assign"
    RESPOND = "respond"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"


S, A = TicketStatus, TicketAction
# (action, from) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[TicketAction, TicketStatus], TicketStatus] = {
    (A.ASSIGN, S.NEW): S.ASSIGNED,
    (A.ASSIGN, S.ASSIGNED): S.ASSIGNED,
    (A.ASSIGN, S.IN_PROGRESS): S.IN_PROGRESS,
    (A.ASSIGN, S.WAITING): S.WAITING,
    (A.ASSIGN, S.REOPENED): S.REOPENED,
    (A.RESPOND, S.ASSIGNED): S.IN_PROGRESS,
    (A.RESPOND, S.REOPENED): S.IN_PROGRESS,
    (A.WAIT, S.IN_PROGRESS): S.WAITING,
    (A.RESUME, S.WAITING): S.IN_PROGRESS,
    (A.RESOLVE, S.ASSIGNED): S.RESOLVED,
    (A.RESOLVE, S.IN_PROGRESS): S.RESOLVED,
    (A.RESOLVE, S.WAITING): S.RESOLVED,
    (A.RESOLVE, S.REOPENED): S.RESOLVED,
    (A.CONFIRM, S.RESOLVED): S.CLOSED,
    (A.REOPEN, S.RESOLVED): S.REOPENED,
}
del S, A

OPEN_STATUSES = tuple(s for s in TicketStatus if s.is_open)


def next_status(ticket_id: int, status: TicketStatus, action: TicketAction) -> TicketStatus:
    """The status `action` leads to from `status`, or IllegalTransitionError."""
    try:
        return TRANSITIONS[(action, status)]
    except KeyError:
        allowed = tuple(a for (a, s) in TRANSITIONS if s is status)
        raise IllegalTransitionError(
            ticket_id, status.value, action.value, tuple(a.value for a in allowed)
        ) from None


class ActorKind(enum.Enum):
    """Who did something: a signed-in agent, the customer (portal, confirm link, IVR) or Hotline itself."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, and whether they may act on tickets that are not theirs (supervisors)."""

    kind: ActorKind
    id: int | None = None
    supervisor: bool = False

    @classmethod
    def agent(cls, agent_id: int, *, supervisor: bool = False) -> Actor:
        """A signed-in agent (or a supervisor or admin, who may act on any ticket)."""
        return cls(ActorKind.AGENT, agent_id, supervisor)


CUSTOMER = Actor(ActorKind.CUSTOMER)
SYSTEM = Actor(ActorKind.SYSTEM)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A customer's request as stored, with its SLA deadlines and the customer snapshot taken at intake."""

    id: int
    version: int
    status: TicketStatus
    subject: str
    description: str
    category: str
    channel: Channel
    priority: Priority
    customer_id: int | None
    customer_name: str
    customer_tier: str
    top_tier: bool
    contact_email: str | None
    contact_phone: str | None
    call_id: str | None
    assignee_id: int | None
    department: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_paused_at: datetime | None
    resolution: str | None
    reopen_count: int

    @property
    def number(self) -> str:
        """What people say and key in (the IVR asks for digits only)."""
        return str(self.id)


@dataclass(frozen=True, slots=True)
class TicketEntry:
    """One audited entry of a ticket's timeline: a transition (from -> to) or a comment."""

    id: int
    ticket_id: int
    at: datetime
    actor_kind: ActorKind
    actor_id: int | None
    action: str
    from_status: TicketStatus | None
    to_status: TicketStatus | None
    note: str
    customer_visible: bool


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A validated request ready for intake; build it with `NewTicket.create`."""

    subject: str
    description: str
    category: str
    channel: Channel
    priority: Priority
    customer_id: int | None
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    call_id: str | None

    @classmethod
    def create(
        cls,
        *,
        subject: str,
        description: str,
        category: str,
        channel: Channel,
        priority: Priority = Priority.NORMAL,
        categories: tuple[str, ...],
        customer_id: int | None = None,
        contact_name: str = "",
        contact_email: str | None = None,
        contact_phone: str | None = None,
        call_id: str | None = None,
    ) -> NewTicket:
        """Validate every field at once; InvalidTicketError lists each problem."""
        problems: dict[str, str] = {}
        clean_subject = " ".join(unicodedata.normalize("NFC", subject).split())
        if not clean_subject:
            problems["subject"] = "required"
        elif len(clean_subject) > MAX_SUBJECT_CHARS:
            problems["subject"] = f"at most {MAX_SUBJECT_CHARS} characters"
        clean_description = clean_text(description)
        if len(clean_description) > MAX_TEXT_CHARS:
            problems["description"] = f"at most {MAX_TEXT_CHARS} characters"
        if category not in categories:
            problems["category"] = f"one of {', '.join(categories)}"
        if customer_id is None and not (contact_email or contact_phone):
            problems["customer_id"] = "a customer, or an email or phone to reach them, is required"
        # Contacts end up in email headers and AMI variables: no control characters, bounded length.
        if contact_email is not None and not _EMAIL.fullmatch(contact_email):
            problems["contact_email"] = f"{contact_email[:60]!r} is not an email address"
        if contact_phone is not None and not _PHONE.fullmatch(contact_phone):
            problems["contact_phone"] = "up to 40 digits, spaces, '+', '-', '(' or ')'"
        if len(contact_name) > MAX_SUBJECT_CHARS or not contact_name.isprintable():
            problems["contact_name"] = f"at most {MAX_SUBJECT_CHARS} printable characters"
        if call_id is not None and (not call_id or len(call_id) > 64 or not call_id.isprintable()):
            problems["call_id"] = "not a call id"
        if problems:
            raise InvalidTicketError(problems)
        return cls(
            clean_subject,
            clean_description,
            category,
            channel,
            priority,
            customer_id,
            " ".join(contact_name.split()),
            contact_email,
            contact_phone,
            call_id,
        )


def clean_text(text: str) -> str:
    """Free text as stored: NFC, no control characters but newlines and tabs, trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text).replace("\r\n", "\n")).strip()
