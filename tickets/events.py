"""Domain events of the service flow, published after the change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tickets.model import Ticket, TicketEntry
from tickets.special_days import Occasion


class EventSink(Protocol):
    """Port: where committed ticket events go (the bus)."""

    def publish(self, event: object) -> None:
        """Hand one event on; must not block."""
        ...


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something happened to a ticket: its state afterwards and the audited entry that says what.

    A milestone (opened, resolved, closed, reopened) carries its line for the customer's timeline.
    """

    ticket: Ticket
    entry: TicketEntry

    @property
    def customer_id(self) -> int | None:
        """Whose timeline the line goes on."""
        return self.ticket.customer_id

    @property
    def occurred_at(self) -> datetime:
        """When it happened (the audited entry's time)."""
        return self.entry.at

    @property
    def channel(self) -> str:
        """The timeline's channel: a ticket."""
        return "ticket"

    @property
    def ref(self) -> str:
        """The audited entry: each milestone is on the timeline once."""
        return f"ticket:{self.ticket.id}:{self.entry.id}"

    @property
    def summary(self) -> str | None:
        """The timeline line; None for a change that is not a milestone."""
        return None


@dataclass(frozen=True, slots=True)
class TicketOpened(TicketEvent):
    """A request was taken in (pop, portal, IVR or API)."""

    @property
    def summary(self) -> str:
        """The timeline line."""
        t = self.ticket
        return f"Ticket #{t.number} opened ({t.category}, {t.priority.value}): {t.subject}"


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

    @property
    def summary(self) -> str:
        """The timeline line."""
        return f"Ticket #{self.ticket.number} resolved: {self.ticket.resolution}"


@dataclass(frozen=True, slots=True)
class TicketClosed(TicketEvent):
    """The customer confirmed the solution."""

    @property
    def summary(self) -> str:
        """The timeline line."""
        return f"Ticket #{self.ticket.number} closed: the customer confirmed the solution"


@dataclass(frozen=True, slots=True)
class TicketReopened(TicketEvent):
    """The customer raised further needs: the ticket is back with its handler."""

    @property
    def summary(self) -> str:
        """The timeline line."""
        return f"Ticket #{self.ticket.number} reopened: {self.entry.note}"


@dataclass(frozen=True, slots=True)
class NoticeAttempted:
    """A notice to a customer was sent, or an attempt failed (`error` says why; it may be retried).

    `ticket_id` is None for a notice about the customer rather than a ticket (a greeting); a sent
    greeting carries its line for the customer's timeline (the agent on their next call sees it).
    """

    ticket_id: int | None
    notice_id: int
    channel: str
    sent: bool
    error: str | None
    occurred_at: datetime
    customer_id: int | None = None
    kind: str = ""

    @property
    def ref(self) -> str:
        """The notice: each greeting is on the timeline once."""
        return f"notice:{self.notice_id}"

    @property
    def summary(self) -> str | None:
        """The timeline line of a sent greeting; None for ticket notices and failed attempts."""
        if self.ticket_id is not None or not self.sent:
            return None
        return f"{_GREETINGS.get(self.kind, 'Greeting')} sent by {self.channel}"


_GREETINGS = {
    Occasion.BIRTHDAY.value: "Birthday greeting",
    Occasion.ANNIVERSARY.value: "Anniversary greeting",
}


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
