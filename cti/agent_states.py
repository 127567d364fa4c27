"""Agent states: who is ready, on a call, in wrap-up or paused, as Asterisk's queues say.

Pure state, no I/O. Every change comes from what Asterisk reports (QueueMemberAdded/Removed,
QueueMemberPause, AgentConnect/AgentComplete, and QueueStatus after a reconnect), never from
what Hotline asked for: a pause that Asterisk did not confirm is not a pause. After a
(re)connect `resync` replaces the memberships with QueueStatus's QueueMember items, so an
agent whose pause was lost in an Asterisk restart shows as ready again at once.

Wrap-up is a pause whose reason is the configured wrap-up reason (Hotline pauses the agent
in Asterisk after each call, so no call is offered during it). Every state change closes a
period (`AgentStateChanged.previous_*`) that is stored for the time-in-state reports.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cti.ami_protocol import AmiMessage
from cti.calls import normalise_interface

DEFAULT_WRAP_UP_REASON = "After-call work"


class Presence(enum.Enum):
    """An agent's overall state, for the desktop, the wallboard and the reports."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Membership:
    """The agent in one queue: paused or not, why, and since when (epoch seconds)."""

    queue: str
    paused: bool
    reason: str
    paused_since: float | None


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """An agent interface's current state, derived from its queue memberships and calls."""

    interface: str
    member_name: str
    presence: Presence
    reason: str
    since: float
    queues: tuple[Membership, ...]

    def in_queue(self, queue: str) -> Membership | None:
        """The membership in `queue`, or None when the agent is not in it."""
        return next((m for m in self.queues if m.queue == queue), None)


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent's state changed; the previous state lasted from `previous_since` to `changed_at`."""

    status: AgentStatus
    previous: Presence
    previous_reason: str
    previous_since: float
    changed_at: float
    previous_queues: tuple[str, ...] = ()

    @property
    def closed(self) -> StatePeriod:
        """The period the change closed."""
        return StatePeriod(
            self.status.interface,
            self.previous,
            self.previous_reason,
            self.previous_since,
            self.changed_at,
            self.previous_queues,
        )


@dataclass(frozen=True, slots=True)
class StatePeriod:
    """A closed stretch of one state, for occupancy and the reports; `queues` the agent was in."""

    interface: str
    presence: Presence
    reason: str
    started_at: float
    ended_at: float
    queues: tuple[str, ...] = ()


def member_interface(interface: str) -> str:
    """The interface as a queue member is written: Local members carry `/n` (as in queues.conf)."""
    if interface[:6].lower() == "local/" and not interface.endswith("/n"):
        return interface + "/n"
    return interface


class _Agent:
    __slots__ = ("calls", "member_name", "presence", "queues", "reason", "since", "since_queues", "status")

    def __init__(self, since: float) -> None:
        self.since_queues: tuple[str, ...] = ()
        self.status: AgentStatus | None = None  # cached; None after any change
        self.member_name = ""
        self.queues: dict[str, Membership] = {}
        self.calls = 0
        self.presence = Presence.LOGGED_OUT
        self.reason = ""
        self.since = since


_Change = Callable[[_Agent], object]


class AgentStateTracker:
    """Derives agent states from the AMI event stream; every change says which period it closed."""

    # The AMI events `feed` reads; the rest need not be fed to it.
    EVENT_NAMES = frozenset(
        {
            "QueueMemberAdded",
            "QueueMemberPause",
            "QueueMemberStatus",
            "QueueMemberPenalty",
            "QueueMemberRemoved",
            "AgentConnect",
            "AgentComplete",
            "Shutdown",
        }
    )

    def __init__(self, *, wrap_up_reason: str = DEFAULT_WRAP_UP_REASON) -> None:
        self._wrap_up_reason = wrap_up_reason
        self._agents: dict[str, _Agent] = {}
        # The sorted list of statuses, rebuilt only after a change (the wallboard reads it often).
        self._statuses: list[AgentStatus] | None = None

    @property
    def wrap_up_reason(self) -> str:
        """The pause reason that means wrap-up."""
        return self._wrap_up_reason

    def statuses(self) -> list[AgentStatus]:
        """Every known agent interface, logged out ones included, sorted by interface."""
        if self._statuses is None:
            self._statuses = [self._status(i, a) for i, a in sorted(self._agents.items())]
        return self._statuses

    def status(self, interface: str) -> AgentStatus | None:
        """The state of one (normalised) interface, or None when Asterisk never mentioned it."""
        agent = self._agents.get(interface)
        return None if agent is None else self._status(interface, agent)

    def feed(self, msg: AmiMessage, now: float) -> list[AgentStateChanged]:
        """Apply one AMI event received at `now`; return the state changes it causes."""
        name = msg.name
        if name in ("QueueMemberAdded", "QueueMemberPause", "QueueMemberStatus", "QueueMemberPenalty"):
            return self._apply(msg.get("Interface"), now, lambda a: self._set_membership(a, msg, now), msg)
        if name == "QueueMemberRemoved":
            return self._apply(msg.get("Interface"), now, lambda a: a.queues.pop(msg.get("Queue"), None), msg)
        if name == "AgentConnect":
            return self._apply(msg.get("Interface"), now, _call_started, msg)
        if name == "AgentComplete":
            return self._apply(msg.get("Interface"), now, _call_ended, msg)
        if name == "Shutdown":
            # Asterisk forgets dynamic members and pauses; QueueStatus after the restart says who is left.
            changes: list[AgentStateChanged] = []
            for interface, agent in self._agents.items():
                agent.calls = 0
                agent.status = None
                changes.extend(self._settle(interface, agent, now))
            return changes
        return []

    def resync(self, queue_status: Sequence[AmiMessage], now: float) -> list[AgentStateChanged]:
        """Replace every membership with QueueStatus's QueueMember items (after a (re)connect).

        Anything Hotline believed that Asterisk does not confirm is dropped, so no agent stays
        stuck in a pause that Asterisk forgot (a restart clears pauses of dynamic members).
        """
        seen: dict[str, dict[str, Membership]] = {}
        names: dict[str, str] = {}
        busy: set[str] = set()
        for item in queue_status:
            if item.name != "QueueMember" or not item.get("Location"):
                continue
            interface = normalise_interface(item.get("Location"))
            seen.setdefault(interface, {})[item.get("Queue")] = _membership(
                item, now, self._previous(interface)
            )
            names[interface] = item.get("Name")
            if item.get("InCall") == "1":
                busy.add(interface)
        changes: list[AgentStateChanged] = []
        for interface in sorted(set(self._agents) | set(seen)):
            agent = self._agents.get(interface)
            if agent is None:
                agent = self._agents[interface] = _Agent(now)
            agent.queues = seen.get(interface, {})
            agent.status = None
            agent.member_name = names.get(interface, agent.member_name)
            agent.calls = 1 if interface in busy else 0
            changes.extend(self._settle(interface, agent, now))
        return changes

    def _previous(self, interface: str) -> dict[str, Membership]:
        agent = self._agents.get(interface)
        return {} if agent is None else agent.queues

    def _apply(
        self, raw_interface: str, now: float, change: _Change, msg: AmiMessage
    ) -> list[AgentStateChanged]:
        if not raw_interface:
            return []
        interface = normalise_interface(raw_interface)
        agent = self._agents.get(interface)
        if agent is None:
            agent = self._agents[interface] = _Agent(now)
        agent.member_name = msg.get("MemberName") or agent.member_name
        change(agent)
        agent.status = None
        return self._settle(interface, agent, now)

    def _set_membership(self, agent: _Agent, msg: AmiMessage, now: float) -> None:
        queue = msg.get("Queue")
        if queue:
            agent.queues[queue] = _membership(msg, now, agent.queues)

    def _settle(self, interface: str, agent: _Agent, now: float) -> list[AgentStateChanged]:
        self._statuses = None
        presence, reason = self._derive(agent)
        if presence is agent.presence and reason == agent.reason:
            return []
        previous, previous_reason, previous_since = agent.presence, agent.reason, agent.since
        previous_queues = agent.since_queues
        agent.presence, agent.reason, agent.since = presence, reason, now
        agent.since_queues = tuple(sorted(agent.queues))
        agent.status = None
        return [
            AgentStateChanged(
                self._status(interface, agent),
                previous,
                previous_reason,
                previous_since,
                now,
                previous_queues,
            )
        ]

    def _derive(self, agent: _Agent) -> tuple[Presence, str]:
        if not agent.queues:
            return (Presence.ON_CALL, "") if agent.calls else (Presence.LOGGED_OUT, "")
        if agent.calls:
            return Presence.ON_CALL, ""
        paused = [m for m in agent.queues.values() if m.paused]
        if len(paused) < len(agent.queues):
            return Presence.READY, ""
        reason = min(m.reason for m in paused)
        if reason == self._wrap_up_reason:
            return Presence.WRAP_UP, reason
        return Presence.PAUSED, reason

    @staticmethod
    def _status(interface: str, agent: _Agent) -> AgentStatus:
        if agent.status is None:
            queues = tuple(m for _, m in sorted(agent.queues.items()))
            agent.status = AgentStatus(
                interface, agent.member_name, agent.presence, agent.reason, agent.since, queues
            )
        return agent.status


def _call_started(agent: _Agent) -> None:
    agent.calls += 1


def _call_ended(agent: _Agent) -> None:
    agent.calls = max(agent.calls - 1, 0)


def _membership(msg: AmiMessage, now: float, previous: dict[str, Membership]) -> Membership:
    queue = msg.get("Queue")
    paused = msg.get("Paused") == "1"
    reason = msg.get("PausedReason") if paused else ""
    before = previous.get(queue)
    if not paused:
        since = None
    elif before is not None and before.paused and before.reason == reason:
        since = before.paused_since
    else:
        # LastPause is Asterisk's own epoch of the pause; trust it when it is set and not in the future.
        last = _epoch(msg.get("LastPause"))
        since = last if last is not None and 0 < last <= now else now
    return Membership(queue, paused, reason, since)


def _epoch(raw: str) -> float | None:
    try:
        return float(int(raw))
    except ValueError:
        return None


def interfaces_in(statuses: Iterable[AgentStatus], queue: str) -> list[AgentStatus]:
    """The agents that are members of `queue`."""
    return [s for s in statuses if s.in_queue(queue) is not None]
