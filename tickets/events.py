"""Domain events of the service flow, published after the change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tickets.model import Ticket, TicketEntry


class EventSink(Protocol):
    """Port: where committed ticket events go (the bus)."""

    def publish(self, event: object) -> None:
        """Hand one event on; must not block."""
        ...


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something happened to a ticket: its state afterwards and the audited entry that says what."""

    ticket: Ticket
    entry: TicketEntry


@dataclass(frozen=True, slots=True)
class TicketOpened(TicketEvent):
    """A request was taken in (pop, portal, IVR or API)."""


@dataclass(frozen=True, slots=True)
class TicketAssigned(TicketEvent):
    """A handler got the ticket; `previous_assignee_id` had it before (None on first assignment)."""

    previous_assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class TicketUpdated(TicketEvent):
    """A first response, a pause or resume of the clock, or a comment."""


@dataclass(frozen=True, slots=True)
class TicketResolved(TicketEvent):
    """The handler recorded the solution; the customer is being notified."""


@dataclass(frozen=True, slots=True)
class TicketClosed(TicketEvent):
    """The customer confirmed the solution."""


@dataclass(frozen=True, slots=True)
class TicketReopened(TicketEvent):
    """The customer raised further needs: the ticket is back with its handler."""


@dataclass(frozen=True, slots=True)
class NoticeAttempted:
    """A notice to a customer was sent, or an attempt failed (`error` says why; it may be retried).

    `ticket_id` is None for a notice about the customer rather than a ticket (a greeting).
    """

    ticket_id: int | None
    notice_id: int
    channel: str
    sent: bool
    error: str | None
    customer_id: int | None = None
    kind: str = ""


TICKET_EVENT_TYPES: tuple[type[TicketEvent], ...] = (
    TicketOpened,
    TicketAssigned,
    TicketUpdated,
    TicketResolved,
    TicketClosed,
    TicketReopened,
)


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """An alarm was stored (once) and its deliveries queued; `agent_id` is whom it is addressed to, if anyone."""

    alert_id: int
    kind: str
    title: str
    ticket_id: int | None
    customer_id: int | None
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class TicketEscalated:
    """A ticket climbed to `level` of the ladder: `role` (held by `holder`) was told."""

    ticket_id: int
    alert_id: int
    level: int
    role: str
    holder: str | None


@dataclass(frozen=True, slots=True)
class AlertAcknowledged:
    """Someone took an alert on: its ticket climbs no further."""

    alert_id: int
    ticket_id: int | None
    agent_id: int


@dataclass(frozen=True, slots=True)
class AlertSnoozed:
    """An alert was put off: its ticket climbs no further before `until`."""

    alert_id: int
    ticket_id: int | None
    agent_id: int
    until: datetime


@dataclass(frozen=True, slots=True)
class AlertDeliveryAttempted:
    """One channel of an alert was delivered, or an attempt failed (`error`; retried unless `gave_up`)."""

    alert_id: int
    delivery_id: int
    channel: str
    sent: bool
    error: str | None
    gave_up: bool = False
