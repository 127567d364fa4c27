"""Tickets as the desktop, the portal and the API see them (one shape everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tickets import DepartmentLoad, HandlerLoad, NoticeStatus, Ticket, TicketEntry, TicketEvent


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def ticket_json(ticket: Ticket, names: dict[int, str] | None = None) -> dict[str, Any]:
    """A ticket for agents; `names` maps agent ids to display names where known."""
    names = names or {}
    return {
        "id": ticket.id,
        "number": ticket.number,
        "version": ticket.version,
        "status": ticket.status.value,
        "open": ticket.status.is_open,
        "subject": ticket.subject,
        "description": ticket.description,
        "category": ticket.category,
        "channel": ticket.channel.value,
        "priority": ticket.priority.value,
        "customer": {
            "id": ticket.customer_id,
            "name": ticket.customer_name,
            "tier": ticket.customer_tier,
            "top_tier": ticket.top_tier,
            "email": ticket.contact_email,
            "phone": ticket.contact_phone,
        },
        "call_id": ticket.call_id,
        "assignee": None
        if ticket.assignee_id is None
        else {"id": ticket.assignee_id, "name": names.get(ticket.assignee_id)},
        "department": ticket.department,
        "created_by": ticket.created_by,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "sla": {
            "first_response_due": _iso(ticket.first_response_due),
            "resolution_due": _iso(ticket.resolution_due),
            "first_responded_at": _iso(ticket.first_responded_at),
            "paused_since": _iso(ticket.sla_paused_at),
        },
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "resolution": ticket.resolution,
        "reopen_count": ticket.reopen_count,
    }


def entry_json(entry: TicketEntry, names: dict[int, str] | None = None) -> dict[str, Any]:
    """One audited timeline entry."""
    names = names or {}
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": {
            "kind": entry.actor_kind.value,
            "id": entry.actor_id,
            "name": None if entry.actor_id is None else names.get(entry.actor_id),
        },
        "action": entry.action,
        "from": None if entry.from_status is None else entry.from_status.value,
        "to": None if entry.to_status is None else entry.to_status.value,
        "note": entry.note,
        "customer_visible": entry.customer_visible,
    }


def notice_json(notice: NoticeStatus) -> dict[str, Any]:
    """A notice to the customer and how its delivery went."""
    return {
        "id": notice.id,
        "kind": notice.kind,
        "channel": notice.channel,
        "recipient": notice.recipient,
        "status": notice.status,
        "attempts": notice.attempts,
        "last_error": notice.last_error,
        "created_at": notice.created_at.isoformat(),
        "sent_at": _iso(notice.sent_at),
    }


def handler_json(load: HandlerLoad, names: dict[int, str]) -> dict[str, Any]:
    """A handler who could take a ticket, with their open workload."""
    return {
        "agent_id": load.agent_id,
        "name": names.get(load.agent_id),
        "department": load.department,
        "skills": list(load.skills),
        "capacity": load.capacity,
        "open": load.open_count,
        "room": load.room,
    }


def department_json(load: DepartmentLoad) -> dict[str, Any]:
    """A department's skilled handlers, summed."""
    return {
        "department": load.department,
        "handlers": load.handlers,
        "open": load.open_count,
        "capacity": load.capacity,
        "room": load.room,
    }


def event_json(event: TicketEvent, names: dict[int, str] | None = None) -> dict[str, Any]:
    """The `ticket_changed` WebSocket message: which change, the ticket after it and the entry."""
    kind = type(event).__name__.removeprefix("Ticket").lower()
    return {
        "change": kind,
        "ticket": ticket_json(event.ticket, names),
        "entry": entry_json(event.entry, names),
    }
