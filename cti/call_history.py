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

# Who sits behind a phone changes rarely; the timeline names them from one map of every phone,
# read again when it is this old, so a renamed agent or a phone moved to another desk shows
# within this long, and a call costs no round trip for it.
AGENT_NAME_TTL_S = 60.0


class AgentNames(Protocol):
    """Port: who sits behind each PBX interface (the agents' service)."""

    async def names_by_interface(self) -> dict[str, str]:
        """The display name of the agent behind each phone that has one."""
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
        # Every phone's agent's display name, and when that was read (never, at first).
        self._names: dict[str, str] = {}
        self._names_read_at: float | None = None

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
        if self._names_read_at is None or not 0 <= now - self._names_read_at < AGENT_NAME_TTL_S:
            self._names = await self._agents.names_by_interface()
            self._names_read_at = now
        return self._names.get(interface)

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
