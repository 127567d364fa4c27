"""Feeds: the glue that turns domain events into the frames the browsers read, handed to the hub.

Each feed satisfies a feature's port as it is (cti's `PopSink`, `CallbackDesk` and `OutboundSink`,
the tickets' live `AlertChannel`) or is a bus subscriber (ticket changes and notices, alert
changes). Frame types and their fields are the pages' contract:

    screen_pop, pop_details, pop_retracted, call_answered, call_ended   to the agents whose phones ring (PopFeed)
    ticket_changed, ticket_notice                          to the agents concerned and the supervisors
    alert_raised                                           to the addressed agent and the supervisors
    alert_changed                                          to the supervisors
    callback_due                                           to the agents a due callback pops for
    outbound_pop                                           to the agent who took a campaign's call
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from agents import AccountService, Agent
from cti import (
    CallAnswered,
    Callback,
    CallEnded,
    IvrVisitRecord,
    OfferRetracted,
    OpenPop,
    OutboundPop,
    PopDetails,
    PopMessage,
    ScreenPop,
    ScreenPopService,
)
from tickets import (
    LIVE,
    AlertAcknowledged,
    AlertDelivery,
    AlertDeliveryAttempted,
    AlertSnoozed,
    NoticeAttempted,
    TicketAssigned,
    TicketEvent,
    TicketService,
)
from web_agent.api import SUPERVISORS
from web_agent.campaigns import outbound_pop_json
from web_agent.hub import AgentHub
from web_agent.proactive_api import callback_json
from web_agent.shapes import card_json
from web_agent.ticket_json import event_json


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def ivr_json(visit: IvrVisitRecord | None) -> dict[str, Any] | None:
    """The IVR part of a pop: the caller's path, where it ended and the article they heard."""
    if visit is None:
        return None
    return {
        "steps": [{"node": s.node, "input": s.input, "result": s.result} for s in visit.steps],
        "outcome": visit.outcome,
        "category": visit.category,
        "queue_priority": visit.queue_priority,
        "callback_requested": visit.callback_requested,
        "article": None
        if visit.article_id is None
        else {"id": visit.article_id, "title": visit.article_title or ""},
    }


def message_json(message: PopMessage) -> tuple[str, dict[str, Any]]:
    """(type, data) of the frame for one pop message."""
    if isinstance(message, ScreenPop):
        customer, interactions = card_json(message.card)
        return "screen_pop", {
            "call_id": message.call_id,
            "queue": message.queue,
            "offered_at": _iso(message.offered_at),
            "caller": {"number": message.caller_number, "name": message.caller_name},
            "customer": customer,
            "interactions": interactions,
        }
    if isinstance(message, PopDetails):
        return "pop_details", {"call_id": message.call_id, **details_json(message)}
    if isinstance(message, OfferRetracted):
        return "pop_retracted", {"call_id": message.call_id, "reason": message.reason.value}
    if isinstance(message, CallAnswered):
        return "call_answered", {
            "call_id": message.call_id,
            "interface": message.interface,
            "wait_s": message.wait_s,
        }
    if isinstance(message, CallEnded):
        return "call_ended", {
            "call_id": message.call_id,
            "outcome": message.outcome.value,
            "wait_s": message.wait_s,
            "talk_s": message.talk_s,
        }
    raise TypeError(f"not a pop message: {message!r}")


def details_json(details: PopDetails | None) -> dict[str, Any]:
    """The part of a card that follows the pop: the IVR path and the suggested answers."""
    if details is None:
        return {"ivr": None, "suggestions": []}
    return {
        "ivr": ivr_json(details.ivr),
        "suggestions": [
            {"article_id": s.article_id, "title": s.title, "body": s.body, "category": s.category}
            for s in details.suggestions
        ],
    }


def open_pop_json(open_pop: OpenPop) -> dict[str, Any]:
    """A pop still on the agent's screen, as a snapshot shows it: with its details so far, and
    `answered` once they took the call."""
    _, data = message_json(open_pop.pop)
    data.update(details_json(open_pop.details))
    return {**data, "answered": True} if open_pop.answered else data


class PopFeed:
    """Satisfies cti's PopSink: pop frames to the agents whose phones ring; their open pops in each snapshot."""

    def __init__(self, hub: AgentHub[Agent]) -> None:
        self._hub = hub
        self._pops: ScreenPopService | None = None
        hub.add_snapshot_part("pops", self._open_pops)

    def bind(self, pops: ScreenPopService) -> None:
        """The pop service whose open pops the snapshots show (it is built after the feed)."""
        self._pops = pops

    def send(self, interfaces: Collection[str], message: PopMessage) -> None:
        """Frame `message` for the agents owning `interfaces`; `by_me` tells who answered."""
        type_, data = message_json(message)
        if isinstance(message, CallAnswered):
            mine, theirs = {**data, "by_me": True}, {**data, "by_me": False}
            self._hub.publish_split(interfaces, type_, message.interface, mine, theirs)
        else:
            self._hub.publish(interfaces, type_, data)

    def _open_pops(self, agent: Agent) -> list[dict[str, Any]]:
        if self._pops is None:
            return []
        return [open_pop_json(p) for p in self._pops.open_pops(agent.interfaces)]


class TicketFeed:
    """Bus subscribers: a ticket's change and its notices' delivery, to the agents concerned and the supervisors."""

    def __init__(self, hub: AgentHub[Agent], agents: AccountService, tickets: TicketService) -> None:
        self._hub = hub
        self._agents = agents
        self._tickets = tickets

    async def ticket_changed(self, event: TicketEvent) -> None:
        """`ticket_changed` to its handler and creator (and the handler it was taken from)."""
        ticket = event.ticket
        concerned = {i for i in (ticket.assignee_id, ticket.created_by) if i is not None}
        if isinstance(event, TicketAssigned) and event.previous_assignee_id is not None:
            concerned.add(event.previous_assignee_id)
        names = await self._agents.display_names(concerned | {event.entry.actor_id or 0})
        self._hub.send_to_agents(concerned, "ticket_changed", event_json(event, names), roles=SUPERVISORS)

    async def notice_attempted(self, event: NoticeAttempted) -> None:
        """`ticket_notice`: an open ticket shows how its notice to the customer went."""
        if event.ticket_id is None:
            return
        ticket = await self._tickets.get(event.ticket_id)
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
            roles=SUPERVISORS,
        )


class AlertFeed:
    """The alerts' live channel (`alert_raised`, a tickets AlertChannel) and `alert_changed` (a bus subscriber)."""

    name = LIVE

    def __init__(self, hub: AgentHub[Agent]) -> None:
        self._hub = hub

    async def deliver(self, delivery: AlertDelivery) -> None:
        """Push the alert onto the browsers' streams (a dropped stream keeps it for the resume)."""
        a = delivery.alert
        addressed = (a.agent_id,) if a.agent_id is not None else ()
        self._hub.send_to_agents(
            addressed,
            "alert_raised",
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "ticket_id": a.ticket_id,
                "customer_id": a.customer_id,
                "level": a.level,
                "agent_id": a.agent_id,
                "raised_at": a.raised_at.isoformat(),
            },
            roles=SUPERVISORS,
        )

    def alert_changed(self, event: AlertAcknowledged | AlertSnoozed | AlertDeliveryAttempted) -> None:
        """An alert was acknowledged or snoozed, or a delivery went out or failed: the supervisors re-read it."""
        self._hub.publish_to_roles(SUPERVISORS, "alert_changed", {"id": event.alert_id})


class CallbackFeed:
    """Satisfies cti's CallbackDesk: due callbacks pop on the agents' desktops."""

    def __init__(self, hub: AgentHub[Agent]) -> None:
        self._hub = hub

    def online(self, agent_id: int) -> bool:
        """True while the agent has the desktop open."""
        return self._hub.online(agent_id)

    def offer(self, agent_ids: Sequence[int], callback: Callback) -> None:
        """`callback_due` to these agents (the supervisors see it too, as every targeted frame)."""
        self._hub.send_to_agents(agent_ids, "callback_due", callback_json(callback), roles=SUPERVISORS)


class OutboundFeed:
    """Satisfies cti's OutboundSink: `outbound_pop` to the agent who took a campaign's call."""

    def __init__(self, hub: AgentHub[Agent]) -> None:
        self._hub = hub

    def outbound_connected(self, interface: str, pop: OutboundPop) -> None:
        """Send the pop to the agent owning `interface`."""
        self._hub.publish((interface,), "outbound_pop", outbound_pop_json(pop))
