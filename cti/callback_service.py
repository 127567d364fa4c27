"""Promised callbacks: schedule them, pop them when due (on one node only), and call the customer back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cti.callback_store import CallbackStore
from cti.callbacks import Callback, CallbackStatus, NewCallback, TeamMember, route_callback
from cti.click_to_dial import ClickToDial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackSettings:
    """How often due callbacks are looked for, and how long a node's claim on one lasts."""

    poll_s: float = 15.0
    lease_s: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.poll_s <= 3600 and 0 < self.lease_s <= 3600):
            raise ValueError("poll_s and lease_s must be in (0, 3600] seconds")


class DeskAgent(Protocol):
    """An agent who takes calls, and the phones that ring on their desk."""

    @property
    def id(self) -> int: ...
    @property
    def interfaces(self) -> tuple[str, ...]: ...


class Staff(Protocol):
    """Port: the agents who take calls (the agents' service)."""

    async def desk_agents(self) -> Sequence[DeskAgent]:
        """Every account that takes calls (supervisors and admins do not)."""
        ...


class Handler(Protocol):
    """A ticket handler and their department."""

    @property
    def agent_id(self) -> int: ...
    @property
    def department(self) -> str: ...


class Departments(Protocol):
    """Port: the departments agents work in (the tickets' handlers)."""

    async def handlers(self) -> Sequence[Handler]:
        """Every ticket handler with their department."""
        ...


class CallbackDesk(Protocol):
    """Port: the agents' desktops."""

    def online(self, agent_id: int) -> bool:
        """True while the agent has the desktop open."""
        ...

    def offer(self, agent_ids: Sequence[int], callback: Callback) -> None:
        """Pop a due callback on these agents' desktops."""
        ...


class NamedCustomer(Protocol):
    """What a callback's card shows of its customer."""

    @property
    def name(self) -> str: ...


class CustomerNames(Protocol):
    """Port: a customer by id, for the name on the callback's card (the customers' service)."""

    async def find(self, customer_id: int) -> NamedCustomer | None:
        """The customer, or None if unknown."""
        ...


class CallbackService:
    """Schedules promised callbacks and pops each one, when due, for exactly one agent or team."""

    def __init__(
        self,
        store: CallbackStore,
        staff: Staff,
        departments: Departments,
        desk: CallbackDesk,
        customers: CustomerNames,
        dialer: ClickToDial,
        takes_calls: Callable[[str], bool],
        clock: Callable[[], datetime],
        settings: CallbackSettings,
        *,
        batch: int = 50,
    ) -> None:
        self._store = store
        self._staff = staff
        self._departments = departments
        self._desk = desk
        self._customers = customers
        self._dialer = dialer
        self._takes_calls = takes_calls
        self._clock = clock
        self._lease_s = settings.lease_s
        self._batch = batch

    async def request_callback(
        self,
        customer_id: int | None,
        number: str,
        due_at: datetime | None,
        note: str,
        requested_by: str,
        *,
        agent_id: int | None = None,
    ) -> Callback:
        """Promise a call back to `number` at `due_at` (None: as soon as possible).

        With `agent_id` it pops for that agent; without (the IVR, the API) it goes to the team.
        InvalidCallbackError lists what is wrong with the request.
        """
        now = self._clock()
        new = NewCallback.create(
            customer_id=customer_id,
            number=number,
            due_at=due_at,
            note=note,
            requested_by=requested_by,
            agent_id=agent_id,
            now=now,
        )
        customer = await self._customers.find(customer_id) if customer_id is not None else None
        callback = await self._store.add(new, customer.name if customer is not None else "", now)
        log.info(
            "callback %d to %s scheduled for %s (requested by %s%s)",
            callback.id,
            callback.phone,
            callback.due_at.isoformat(),
            requested_by,
            f", agent {agent_id}" if agent_id is not None else "",
        )
        return callback

    async def run_once(self) -> int:
        """Pop every callback due now; return how many this node popped."""
        popped = 0
        while True:
            due = await self._store.claim_due(self._clock(), self._lease_s, self._batch)
            if not due:
                return popped
            members = await self._team()
            for callback in due:
                route = route_callback(callback.agent_id, members, self._available)
                offered = await self._store.mark_offered(
                    callback.id, route.agent_ids, route.to_team, self._clock()
                )
                if offered is None:
                    continue
                self._desk.offer(route.agent_ids, offered)
                popped += 1
                log.info(
                    "callback %d due: popped for %s%s",
                    callback.id,
                    ", ".join(f"agent {i}" for i in route.agent_ids) or "nobody yet",
                    " (the team: its agent is away)" if route.to_team and callback.agent_id else "",
                )

    async def open_callback(self, callback_id: int) -> Callback:
        """A scheduled or offered callback; CallbackNotFoundError otherwise."""
        return await self._store.get_open(callback_id)

    async def open_for(self, agent_id: int) -> list[Callback]:
        """The agent's open callbacks, soonest first."""
        return await self._store.open_for(agent_id)

    async def dial(self, callback_id: int, agent_id: int, interface: str) -> tuple[Callback, str]:
        """Call the customer back from `interface` and mark the callback done; the ChannelId too.

        It is marked done first, so two agents of a team clicking at once place one call (the
        other gets CallbackNotFoundError); if the PBX refuses the call it is open again.
        """
        callback = await self._store.get_open(callback_id)
        done = await self._store.close(callback_id, CallbackStatus.DONE, agent_id, self._clock())
        try:
            channel_id = await self._dialer.dial(interface, callback.phone)
        except BaseException:
            await self._store.reopen(callback_id, callback.status)
            raise
        return done, channel_id

    async def finish(self, callback_id: int, agent_id: int, *, cancelled: bool) -> Callback:
        """Mark a callback done (called back another way) or cancelled."""
        status = CallbackStatus.CANCELLED if cancelled else CallbackStatus.DONE
        return await self._store.close(callback_id, status, agent_id, self._clock())

    async def _team(self) -> list[TeamMember]:
        """The agents who take calls, with their phones and their department (None: in none)."""
        departments = {h.agent_id: h.department for h in await self._departments.handlers()}
        return [
            TeamMember(a.id, a.interfaces, departments.get(a.id)) for a in await self._staff.desk_agents()
        ]

    def _available(self, member: TeamMember) -> bool:
        # Signed in to the desktop, and a phone that takes calls (ready, or not reported by the PBX).
        return self._desk.online(member.agent_id) and any(self._takes_calls(i) for i in member.interfaces)
