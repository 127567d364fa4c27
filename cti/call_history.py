"""What happened on each call, kept: the call log, the callers' IVR paths, and the `CallLogged` event.

The screen pop hands every finished call here; the line it puts on the customer's timeline and
the repeated-call alarm are the reactions of customers and tickets to `CallLogged` on the bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from cti.events import CallEnded, CallLogged, CallOutcome, EventSink
from cti.screen_pop import CallerCardLike
from cti.store import CallCustomer, CallLogStore, IvrVisitRecord, IvrVisitStore, LoggedCall, VisitLike

# Who sits behind a phone changes rarely; the timeline names them without a round trip per call,
# and a renamed agent or a phone moved to another desk shows within this long.
AGENT_NAME_TTL_S = 60.0


class AgentNames(Protocol):
    """Port: who sits behind a PBX interface (the agents' service)."""

    async def display_name_for_interface(self, interface: str) -> str | None:
        """The display name of the agent whose phone this is, or None."""
        ...


class CallHistory:
    """The call log and the IVR visits, for the desk, the next pop and the alarms."""

    def __init__(
        self,
        calls: CallLogStore,
        visits: IvrVisitStore,
        agents: AgentNames,
        events: EventSink,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls = calls
        self._visits = visits
        self._agents = agents
        self._events = events
        self._clock = clock
        # Interface -> (when looked up, the display name of whoever's phone it was).
        self._names: dict[str, tuple[float, str | None]] = {}

    async def record_call(self, ended: CallEnded, card: CallerCardLike | None) -> None:
        """Store a finished call (once: a retry keeps the first row), then tell the others it is logged."""
        customer = None
        if card is not None:
            customer = CallCustomer(card.customer.id, card.customer.name, card.customer.tier)
        await self._calls.record(ended, customer)
        answered_by = None
        if customer is not None and ended.outcome is CallOutcome.ANSWERED and ended.interface is not None:
            answered_by = await self._agent_name(ended.interface)
        self._events.publish(
            CallLogged(
                ended,
                customer.id if customer else None,
                customer.name if customer else None,
                customer.tier if customer else None,
                answered_by,
            )
        )

    async def _agent_name(self, interface: str) -> str | None:
        now = self._clock()
        known = self._names.get(interface)
        if known is not None and now - known[0] < AGENT_NAME_TTL_S:
            return known[1]
        name = await self._agents.display_name_for_interface(interface)
        self._names[interface] = (now, name)
        return name

    async def calls_for_interfaces(
        self, interfaces: Sequence[str], since: datetime, limit: int = 200
    ) -> list[LoggedCall]:
        """Calls answered on any of `interfaces` since `since`, newest first."""
        return await self._calls.calls_for_interfaces(interfaces, since, limit)

    async def calls_since(self, customer_id: int, since: datetime) -> int:
        """How many calls of the customer ended at or after `since`."""
        return await self._calls.calls_since(customer_id, since)

    async def record_visit(self, visit: VisitLike) -> None:
        """Keep a caller's way through the IVR with the call (once per AGI session)."""
        await self._visits.record(visit)

    async def latest_for_call(self, call_id: str, caller_number: str) -> IvrVisitRecord | None:
        """The call's IVR visit (by Linkedid, else the caller's hand-off moments ago), or None."""
        return await self._visits.latest_for_call(call_id, caller_number)
