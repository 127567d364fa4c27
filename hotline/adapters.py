"""Adapters of the composition root: each satisfies one feature's port with another's service.

The features never import each other; these small classes are where one meets the other (the
dialer asks the tickets about overdue customers, the IVR asks the customers who is calling, the
pop asks the knowledge base for answers). `hotline/app.py` builds them and hands them over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from agents import Role
from agents.store import AccountStore
from cti.ami_client import ActionFields
from cti.ami_protocol import AmiMessage
from cti.callback_service import CallbackService
from cti.callbacks import Callback, TeamMember
from cti.errors import AmiNotConnectedError
from cti.events import (
    CallEnded,
    CallOutcome,
)
from cti.screen_pop import CallerCardLike, SuggestionLike
from cti.store import CallCustomer, CallLogStore, IvrPathStep, IvrVisitRecord, IvrVisitStore
from customers.errors import CustomerNotFoundError
from customers.store import CustomerStore
from ivr.flows import (
    CallbackRequest,
    IvrVisit,
    TicketStatusReport,
)
from knowledge_base.service import KnowledgeBase
from tickets.alarms import (
    AlarmService,
)
from tickets.errors import TicketLookupFailedError, TicketNotFoundError
from tickets.events import (
    NoticeAttempted,
    TicketAssigned,
    TicketClosed,
    TicketEvent,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from tickets.model import Ticket
from tickets.service import TicketService
from tickets.special_days import Occasion
from web_agent.hub import AgentHub
from web_agent.proactive_api import callback_json
from web_agent.ticket_json import event_json

log = logging.getLogger(__name__)


def _format_duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


@dataclass
class CallHistoryRecorder:
    """Satisfies cti's CallRecorder port: a call-log row, plus an entry on the customer's timeline."""

    call_log: CallLogStore
    customers: CustomerStore
    accounts: AccountStore

    async def record_call(self, ended: CallEnded, card: CallerCardLike | None) -> None:
        """Store the finished call where the agent desktop and the next pop will find it."""
        customer = None
        if card is not None:
            tier = card.customer.tier
            customer = CallCustomer(card.customer.id, card.customer.name, str(getattr(tier, "value", tier)))
        await self.call_log.record(ended, customer)
        if customer is None:
            return
        queue = f" ({ended.queue})" if ended.queue else ""
        if ended.outcome is CallOutcome.ANSWERED:
            who = await self.accounts.display_name_for_interface(ended.interface) if ended.interface else None
            summary = (
                f"Call answered by {who or ended.interface}{queue}, talked {_format_duration(ended.talk_s)}"
            )
        else:
            summary = (
                f"Missed call{queue}: {ended.outcome.value} after {_format_duration(ended.wait_s)} waiting"
            )
        await self.customers.add_interaction(
            customer.id, datetime.fromtimestamp(ended.ended_at, UTC), "call", summary, ended.call_id
        )


@dataclass
class CallbackRoster:
    """Satisfies cti's Roster port: agent accounts with their phones, departments from ticket handlers."""

    accounts: AccountStore
    tickets: TicketService

    async def members(self) -> list[TeamMember]:
        """Every agent account (supervisors and admins do not take callbacks) and their department."""
        departments = {h.agent_id: h.department for h in await self.tickets.handlers()}
        return [
            TeamMember(a.id, tuple(a.interfaces), departments.get(a.id))
            for a in await self.accounts.list_agents()
            if a.role is Role.AGENT
        ]


@dataclass
class HubCallbackDesk:
    """Satisfies cti's CallbackDesk port: due callbacks pop on the agents' desktops."""

    hub: AgentHub

    def online(self, agent_id: int) -> bool:
        """True while the agent has the desktop open."""
        return self.hub.online(agent_id)

    def offer(self, agent_ids: Sequence[int], callback: Callback) -> None:
        """Send the `callback_due` pop (supervisors see it too, as every targeted event)."""
        self.hub.send_to_agents(agent_ids, "callback_due", callback_json(callback))


def _timeline_summary(event: TicketEvent) -> str | None:
    ticket = event.ticket
    if isinstance(event, TicketOpened):
        return (
            f"Ticket #{ticket.number} opened ({ticket.category}, {ticket.priority.value}): {ticket.subject}"
        )
    if isinstance(event, TicketResolved):
        return f"Ticket #{ticket.number} resolved: {ticket.resolution}"
    if isinstance(event, TicketClosed):
        return f"Ticket #{ticket.number} closed: the customer confirmed the solution"
    if isinstance(event, TicketReopened):
        return f"Ticket #{ticket.number} reopened: {event.entry.note}"
    return None


@dataclass
class TicketTimeline:
    """Writes the milestones of a customer's tickets onto their timeline (once each, by entry id)."""

    customers: CustomerStore

    async def record(self, event: TicketEvent) -> None:
        """Add the timeline entry for `event`, if it is a milestone of a known customer's ticket."""
        summary = _timeline_summary(event)
        ticket = event.ticket
        if summary is not None and ticket.customer_id is not None:
            await self.customers.add_interaction(
                ticket.customer_id, event.entry.at, "ticket", summary, f"ticket:{ticket.id}:{event.entry.id}"
            )


_GREETINGS = {
    Occasion.BIRTHDAY.value: "Birthday greeting",
    Occasion.ANNIVERSARY.value: "Anniversary greeting",
}


class TicketFollowUps:
    """After each committed ticket change: tell the agents concerned, and write the customer's timeline."""

    def __init__(
        self,
        hub: AgentHub,
        timeline: TicketTimeline,
        accounts: AccountStore,
        tickets: TicketService,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._hub = hub
        self._tickets = tickets
        self._timeline = timeline
        self._accounts = accounts
        self._clock = clock

    async def notice_attempted(self, event: NoticeAttempted) -> None:
        """An open ticket shows its notice's delivery; a sent greeting goes on the timeline."""
        if event.ticket_id is None:
            if event.sent and event.customer_id is not None:
                await self._record_greeting(event, event.customer_id)
            return
        try:
            ticket = await self._tickets.get(event.ticket_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TicketNotFoundError):
            log.exception("follow-up of notice %d (ticket %d) failed", event.notice_id, event.ticket_id)
            return
        concerned = {i for i in (ticket.assignee_id, ticket.created_by) if i is not None}
        self._hub.send_to_agents(
            concerned,
            "ticket_notice",
            {
                "ticket_id": event.ticket_id,
                "notice_id": event.notice_id,
                "channel": event.channel,
                "sent": event.sent,
                "error": event.error,
            },
        )

    async def _record_greeting(self, event: NoticeAttempted, customer_id: int) -> None:
        # The agent who takes the customer's next call sees the greeting among the latest contacts.
        summary = f"{_GREETINGS.get(event.kind, 'Greeting')} sent by {event.channel}"
        try:
            await self._timeline.customers.add_interaction(
                customer_id, self._clock(), event.channel, summary, f"notice:{event.notice_id}"
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, CustomerNotFoundError):
            log.exception("timeline entry of greeting %d (customer %d) failed", event.notice_id, customer_id)

    async def ticket_changed(self, event: TicketEvent) -> None:
        """Tell the agents concerned, and write the customer's timeline."""
        ticket = event.ticket
        concerned = {i for i in (ticket.assignee_id, ticket.created_by) if i is not None}
        if isinstance(event, TicketAssigned) and event.previous_assignee_id is not None:
            concerned.add(event.previous_assignee_id)
        try:
            names = await self._accounts.display_names(concerned | {event.entry.actor_id or 0})
            self._hub.send_to_agents(concerned, "ticket_changed", event_json(event, names))
            await self._timeline.record(event)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, CustomerNotFoundError):
            log.exception("follow-up of ticket %d (%s) failed", ticket.id, type(event).__name__)


@dataclass
class KnowledgeSuggestions:
    """Satisfies cti's PopSuggestions port: the most read answers for the IVR choice and the caller's open tickets."""

    knowledge_base: KnowledgeBase
    tickets: TicketService
    limit: int = 3

    async def for_call(self, customer_id: int | None, ivr_category: str | None) -> Sequence[SuggestionLike]:
        """The IVR choice first (what the caller said they call about), then the open tickets' categories."""
        categories = [ivr_category] if ivr_category else []
        if customer_id is not None:
            categories += await self.tickets.open_categories(customer_id)
        if not categories:
            return ()
        return await self.knowledge_base.suggestions(categories, limit=self.limit)


@dataclass
class RepeatedCallWatch:
    """Satisfies cti's CallRecorder port: records the call, then lets the alarms count a known caller's calls."""

    history: CallHistoryRecorder
    alarms: AlarmService
    is_top_tier: Callable[[str], bool]

    async def record_call(self, ended: CallEnded, card: CallerCardLike | None) -> None:
        """Store the call; a watched or top-tier customer calling again and again alerts the owner."""
        await self.history.record_call(ended, card)
        if card is None:
            return
        tier = card.customer.tier
        try:
            await self.alarms.customer_called(
                card.customer.id, card.customer.name, self.is_top_tier(str(getattr(tier, "value", tier)))
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            # The call is stored; raising would make the pop service store it again.
            log.exception(
                "repeated-call check of customer %d after call %s failed", card.customer.id, ended.call_id
            )


@dataclass
class OverdueTickets:
    """Satisfies cti's EscalatedCustomers port: a customer whose open ticket is past its deadline.

    A breached deadline is what escalates a ticket: the escalation ladder starts at the first
    breach (tickets/escalation.py).
    """

    tickets: TicketService

    async def has_open_escalation(self, customer_id: int) -> bool:
        """True while the customer has an open ticket past its first-response or resolution deadline."""
        return await self.tickets.has_overdue_ticket(customer_id)


MAX_TICKET_ID = 2**63 - 1


@dataclass
class IvrTicketDesk:
    """Satisfies the IVR's TicketDesk port: status only of the caller's own tickets, and escalations."""

    tickets: TicketService
    accounts: AccountStore

    async def _callers_ticket(
        self, ticket_id: int, customer_id: int | None, caller_number: str
    ) -> Ticket | None:
        if customer_id is not None:
            try:
                ticket = await self.tickets.get(ticket_id)
            except TicketNotFoundError:
                return None
            if ticket.customer_id == customer_id:
                return ticket
        if not caller_number:
            return None
        try:
            # The portal's rule: the number the caller calls from must be the ticket's contact.
            return await self.tickets.status_for_contact(ticket_id, caller_number)
        except TicketLookupFailedError:
            return None

    async def ticket_status(
        self, ticket_id: int, *, customer_id: int | None, caller_number: str
    ) -> TicketStatusReport | None:
        """The ticket's status if it is the caller's; someone else's ticket is "not found" alike."""
        if not 1 <= ticket_id <= MAX_TICKET_ID:
            return None
        ticket = await self._callers_ticket(ticket_id, customer_id, caller_number)
        if ticket is None:
            return None
        interfaces = await self.accounts.interfaces_of(ticket.assignee_id) if ticket.assignee_id else []
        return TicketStatusReport(
            ticket.id, ticket.status.value, ticket.category, interfaces[0] if interfaces else None
        )

    async def has_open_escalation(self, customer_id: int) -> bool:
        """True while the customer has an open ticket past its deadline."""
        return await self.tickets.has_overdue_ticket(customer_id)


@dataclass
class IvrCallbacks:
    """Satisfies the IVR's CallbackRequests port with a promised callback for the team, due now."""

    callbacks: CallbackService

    async def request_callback(self, request: CallbackRequest) -> None:
        """Promise the call back; it pops for the ready agents (InvalidCallbackError for a bad number)."""
        topic = f" about {request.category}" if request.category else ""
        await self.callbacks.request_callback(
            request.customer_id,
            request.caller_number,
            None,
            f"{request.caller_name or 'The caller'} asked in the IVR to be called back{topic} (call {request.call_id})",
            "ivr",
        )


@dataclass
class IvrCallJournal:
    """Satisfies the IVR's IvrJournal port: the visit with the call (cti), and on the customer's timeline."""

    visits: IvrVisitStore
    customers: CustomerStore

    async def record_visit(self, visit: IvrVisit) -> None:
        """Store the path; a known caller also gets a timeline entry (once per AGI session)."""
        await self.visits.record(
            IvrVisitRecord(
                unique_id=visit.unique_id,
                call_id=visit.call_id,
                caller_number=visit.caller_number,
                caller_name=visit.caller_name,
                customer_id=visit.customer_id,
                started_at=visit.started_at,
                ended_at=visit.ended_at,
                steps=tuple(IvrPathStep(s.node, s.action, s.input, s.result) for s in visit.steps),
                outcome=visit.outcome.value,
                queue=visit.queue,
                queue_priority=visit.queue_priority,
                category=visit.category,
                article_id=visit.article_id,
                article_title=visit.article_title,
                callback_requested=visit.callback_requested,
            )
        )
        if visit.customer_id is not None:
            await self.customers.add_interaction(
                visit.customer_id, visit.ended_at, "ivr", visit.summary(), f"ivr:{visit.unique_id}"
            )


class OfflinePbx:
    """Satisfies the dialer's AmiActions port when Hotline runs without a PBX: nothing is dialled."""

    connected = False

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Refuse every action: there is no AMI connection."""
        raise AmiNotConnectedError(f"cannot send AMI action {name}: no PBX is configured")
