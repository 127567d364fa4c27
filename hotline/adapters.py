"""Adapters of the composition root: each satisfies one feature's port with another's service.

The features never import each other; these small classes are where one meets the other (the
dialer asks the tickets about overdue customers, the IVR asks the customers who is calling, the
pop asks the knowledge base for answers). `hotline/app.py` builds them and hands them over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from agents import Role
from agents.store import AccountStore
from cti.ami_client import ActionFields
from cti.ami_protocol import AmiMessage
from cti.callback_service import CallbackService
from cti.callbacks import TeamMember
from cti.errors import AmiNotConnectedError
from cti.screen_pop import SuggestionLike
from ivr.flows import (
    CallbackRequest,
    TicketStatusReport,
)
from knowledge_base.service import KnowledgeBase
from tickets.errors import TicketLookupFailedError, TicketNotFoundError
from tickets.model import Ticket
from tickets.service import TicketService

log = logging.getLogger(__name__)


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


class OfflinePbx:
    """Satisfies the dialer's AmiActions port when Hotline runs without a PBX: nothing is dialled."""

    connected = False

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        """Refuse every action: there is no AMI connection."""
        raise AmiNotConnectedError(f"cannot send AMI action {name}: no PBX is configured")
