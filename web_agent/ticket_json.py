"""Tickets as the desktop, the portal and the API see them: one shape everywhere, `ticket_changed` included."""

from __future__ import annotations

from typing import Any

import msgspec

from tickets import (
    ActorKind,
    Channel,
    DepartmentLoad,
    HandlerLoad,
    NoticeStatus,
    Priority,
    Ticket,
    TicketEntry,
    TicketEvent,
    TicketStatus,
)
from web_agent.routes import Instant, Reply, iso
from web_agent.shapes import Person, person


class TicketCustomer(Reply):
    """Who the ticket is for: a known customer (id) or only the contact details given."""

    id: int | None
    name: str
    tier: str
    top_tier: bool
    email: str | None
    phone: str | None


class SlaClocks(Reply):
    """The ticket's deadlines, and when its clock stopped while waiting on the customer."""

    first_response_due: Instant | None
    resolution_due: Instant | None
    first_responded_at: Instant | None
    paused_since: Instant | None


class TicketView(Reply):
    """A ticket for agents."""

    id: int
    number: str
    version: int
    status: TicketStatus
    open: bool
    subject: str
    description: str
    category: str
    channel: Channel
    priority: Priority
    customer: TicketCustomer
    call_id: str | None
    assignee: Person | None
    department: str | None
    created_by: int | None
    created_at: Instant
    updated_at: Instant
    sla: SlaClocks
    resolved_at: Instant | None
    closed_at: Instant | None
    resolution: str | None
    reopen_count: int

    @classmethod
    def of(cls, ticket: Ticket, names: dict[int, str]) -> TicketView:
        """The view of a ticket; `names` maps agent ids to display names where known."""
        return cls(
            id=ticket.id,
            number=ticket.number,
            version=ticket.version,
            status=ticket.status,
            open=ticket.status.is_open,
            subject=ticket.subject,
            description=ticket.description,
            category=ticket.category,
            channel=ticket.channel,
            priority=ticket.priority,
            customer=TicketCustomer(
                id=ticket.customer_id,
                name=ticket.customer_name,
                tier=ticket.customer_tier,
                top_tier=ticket.top_tier,
                email=ticket.contact_email,
                phone=ticket.contact_phone,
            ),
            call_id=ticket.call_id,
            assignee=person(ticket.assignee_id, names),
            department=ticket.department,
            created_by=ticket.created_by,
            created_at=ticket.created_at.isoformat(),
            updated_at=ticket.updated_at.isoformat(),
            sla=SlaClocks(
                first_response_due=iso(ticket.first_response_due),
                resolution_due=iso(ticket.resolution_due),
                first_responded_at=iso(ticket.first_responded_at),
                paused_since=iso(ticket.sla_paused_at),
            ),
            resolved_at=iso(ticket.resolved_at),
            closed_at=iso(ticket.closed_at),
            resolution=ticket.resolution,
            reopen_count=ticket.reopen_count,
        )


class Actor(Reply):
    """Who made a timeline entry."""

    kind: ActorKind
    id: int | None
    name: str | None


class EntryView(Reply):
    """One audited timeline entry."""

    id: int
    at: Instant
    actor: Actor
    action: str
    from_: TicketStatus | None = msgspec.field(name="from")
    to: TicketStatus | None
    note: str
    customer_visible: bool

    @classmethod
    def of(cls, entry: TicketEntry, names: dict[int, str]) -> EntryView:
        """The view of an entry; `names` maps agent ids to display names where known."""
        actor_name = None if entry.actor_id is None else names.get(entry.actor_id)
        return cls(
            id=entry.id,
            at=entry.at.isoformat(),
            actor=Actor(entry.actor_kind, entry.actor_id, actor_name),
            action=entry.action,
            from_=entry.from_status,
            to=entry.to_status,
            note=entry.note,
            customer_visible=entry.customer_visible,
        )


class NoticeView(Reply):
    """A notice to the customer and how its delivery went."""

    id: int
    kind: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: Instant
    sent_at: Instant | None

    @classmethod
    def of(cls, notice: NoticeStatus) -> NoticeView:
        """The view of a notice."""
        return cls(
            id=notice.id,
            kind=notice.kind,
            channel=notice.channel,
            recipient=notice.recipient,
            status=notice.status,
            attempts=notice.attempts,
            last_error=notice.last_error,
            created_at=notice.created_at.isoformat(),
            sent_at=iso(notice.sent_at),
        )


class HandlerView(Reply):
    """A handler who could take a ticket, with their open workload."""

    agent_id: int
    name: str | None
    department: str
    skills: list[str]
    capacity: int
    open: int
    room: int

    @classmethod
    def of(cls, load: HandlerLoad, names: dict[int, str]) -> HandlerView:
        """The view of a handler's load; `names` maps agent ids to display names."""
        return cls(
            agent_id=load.agent_id,
            name=names.get(load.agent_id),
            department=load.department,
            skills=list(load.skills),
            capacity=load.capacity,
            open=load.open_count,
            room=load.room,
        )


class DepartmentView(Reply):
    """A department's skilled handlers, summed."""

    department: str
    handlers: int
    open: int
    capacity: int
    room: int

    @classmethod
    def of(cls, load: DepartmentLoad) -> DepartmentView:
        """The view of a department's load."""
        return cls(load.department, load.handlers, load.open_count, load.capacity, load.room)


class TicketChange(Reply):
    """The data of the `ticket_changed` WebSocket event: which change, the ticket after it and the entry."""

    change: str
    ticket: TicketView
    entry: EntryView


def event_json(event: TicketEvent, names: dict[int, str] | None = None) -> dict[str, Any]:
    """The `ticket_changed` event's data, built from the same views as the REST replies."""
    names = names or {}
    change = TicketChange(
        change=type(event).__name__.removeprefix("Ticket").lower(),
        ticket=TicketView.of(event.ticket, names),
        entry=EntryView.of(event.entry, names),
    )
    data: dict[str, Any] = msgspec.to_builtins(change)
    return data
