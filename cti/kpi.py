"""Queue figures for the wallboard, and the Erlang C staffing projection. Pure: no I/O.

`QueueBoard` is fed the AMI events of the queues (QueueCallerJoin/Leave/Abandon,
AgentConnect, AgentComplete) with the time from an injected clock, and keeps today's
outcomes. The timings are Asterisk's own (HoldTime, TalkTime), never re-measured.

Definitions (per queue, over a window that ends now):
- service level: calls answered within `service_level_s` / (answered + abandoned); None when
  no call was answered or abandoned in the window;
- average speed of answer (ASA): mean HoldTime of the answered calls;
- abandon rate: abandoned / (answered + abandoned);
- average handle time (AHT): mean TalkTime of the completed calls, plus the wrap-up time;
- occupancy: time on calls and in wrap-up / (that + time ready), over the queue's members.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cti.agent_states import AgentStatus, Membership, Presence, StatePeriod
from cti.ami_protocol import AmiMessage

WINDOWS: tuple[tuple[str, float | None], ...] = (("15m", 900.0), ("60m", 3600.0), ("today", None))
# Occupancy keeps busy and ready seconds per queue in one-minute buckets: bounded memory for a
# whole day at any call rate, and windows that are exact to the minute.
BUCKET_S = 60.0
FORECAST_HORIZON_S = 1800.0
ARRIVAL_WINDOW_S = 900.0


@dataclass(frozen=True, slots=True)
class KpiSettings:
    """Thresholds of the wallboard and of the staffing advisor."""

    service_level_s: float = 20.0
    service_level_target: float = 0.8
    wrap_up_s: float = 0.0
    default_handle_s: float = 180.0

    def __post_init__(self) -> None:
        if not self.service_level_s > 0:
            raise ValueError("service_level_s must be greater than 0")
        if not 0 < self.service_level_target <= 1:
            raise ValueError("service_level_target must be in (0, 1]")
        if self.wrap_up_s < 0 or not self.default_handle_s > 0:
            raise ValueError("wrap_up_s must be >= 0 and default_handle_s > 0")


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """One queue's figures over one window."""

    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    aht_s: float | None
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class Forecast:
    """Erlang C projection of the next 30 minutes at the current arrival rate and handle time."""

    arrivals_per_hour: float
    handle_s: float
    agents: int
    service_level: float | None
    target: float
    agents_needed: int | None

    @property
    def below_target(self) -> bool:
        """True when the projected service level misses the target."""
        return self.service_level is not None and self.service_level < self.target


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Everything the wallboard shows for one queue at one moment."""

    queue: str
    waiting: int
    longest_wait_s: float
    ready: int
    on_call: int
    wrap_up: int
    paused: int
    windows: tuple[tuple[str, WindowFigures], ...]
    forecast: Forecast


# -- Erlang C ----------------------------------------------------------------------------------


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """Probability that a call waits (Erlang C), for `agents` servers and offered traffic A.

    1.0 when the agents cannot keep up (A >= N), 0.0 without traffic.
    """
    if traffic_erlangs <= 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    # Erlang B by its stable recursion, then C = N·B / (N − A·(1 − B)).
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic_erlangs * blocking / (n + traffic_erlangs * blocking)
    return agents * blocking / (agents - traffic_erlangs * (1 - blocking))


def erlang_c_service_level(agents: int, arrivals_per_s: float, handle_s: float, threshold_s: float) -> float:
    """Share of calls answered within `threshold_s` (M/M/N): 1 − C(N, A)·e^(−(N−A)·T/AHT)."""
    traffic = arrivals_per_s * handle_s
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waits = erlang_c(agents, traffic)
    return max(0.0, 1.0 - waits * math.exp(-(agents - traffic) * threshold_s / handle_s))


def agents_needed(arrivals_per_s: float, handle_s: float, threshold_s: float, target: float) -> int:
    """The fewest agents whose projected service level meets `target`."""
    agents = max(1, math.ceil(arrivals_per_s * handle_s))
    while erlang_c_service_level(agents, arrivals_per_s, handle_s, threshold_s) < target:
        agents += 1
    return agents


def forecast(arrivals_per_s: float, handle_s: float, agents: int, settings: KpiSettings) -> Forecast:
    """The projection for the next 30 minutes if arrivals and handle time stay as they are."""
    if arrivals_per_s <= 0:
        level: float | None = None
        needed: int | None = 0
    else:
        level = erlang_c_service_level(agents, arrivals_per_s, handle_s, settings.service_level_s)
        needed = agents_needed(
            arrivals_per_s, handle_s, settings.service_level_s, settings.service_level_target
        )
    return Forecast(arrivals_per_s * 3600, handle_s, agents, level, settings.service_level_target, needed)


# -- the board ---------------------------------------------------------------------------------


class _Tally:
    """Timed events with running totals of their figures, kept in time order, so the sums over
    any window that ends now are two bisects and a subtraction, however many events it holds."""

    __slots__ = ("at", "totals")

    def __init__(self, width: int) -> None:
        self.at: list[float] = []
        # totals[i]: the figures summed over the events before index i (totals[0] is all zeros).
        self.totals: list[tuple[float, ...]] = [(0.0,) * width]

    def add(self, at: float, figures: tuple[float, ...]) -> None:
        """Count one event at `at`; a clock that stepped back puts it in its place."""
        index = len(self.at)
        if index and at < self.at[-1]:
            index = bisect.bisect_right(self.at, at)
        # The events it goes before are added again on top of it (only when the clock stepped back).
        later = [
            tuple(b - a for a, b in zip(self.totals[i], self.totals[i + 1], strict=True))
            for i in range(index, len(self.at))
        ]
        self.at.insert(index, at)
        del self.totals[index + 1 :]
        for each in (figures, *later):
            self.totals.append(tuple(t + f for t, f in zip(self.totals[-1], each, strict=True)))

    def since(self, start: float) -> tuple[int, tuple[float, ...]]:
        """How many events came after `start`, and their figures summed."""
        first = bisect.bisect_right(self.at, start)
        before, now = self.totals[first], self.totals[-1]
        return len(self.at) - first, tuple(n - b for n, b in zip(now, before, strict=True))

    def drop_before(self, keep_from: float) -> None:
        """Forget the events before `keep_from` (the totals stay differences of the same sums)."""
        if self.at and self.at[0] < keep_from:
            first = bisect.bisect_left(self.at, keep_from)
            del self.at[:first]
            del self.totals[:first]


class _Queue:
    __slots__ = ("arrivals", "completions", "outcomes", "time")

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        # Answered or abandoned calls: (answered, answered within the service level, seconds waited if answered).
        self.outcomes = _Tally(3)
        # Completed calls: (seconds talked,).
        self.completions = _Tally(1)
        # Minute bucket -> [busy seconds, ready seconds] of the queue's members.
        self.time: dict[int, list[float]] = {}


def _seconds(raw: str) -> int:
    try:
        return max(int(raw), 0)
    except ValueError:
        return 0


class QueueBoard:
    """Today's queue outcomes and the callers waiting now, fed from the AMI event stream.

    `day_start(now)` gives the epoch at which "today" began (local midnight in production).
    """

    # The AMI events `feed` reads; the rest need not be fed to it.
    EVENT_NAMES = frozenset(
        {
            "QueueCallerJoin",
            "QueueCallerLeave",
            "QueueCallerAbandon",
            "AgentConnect",
            "AgentComplete",
            "Shutdown",
        }
    )

    def __init__(self, settings: KpiSettings, day_start: Callable[[float], float]) -> None:
        self._settings = settings
        self._day_start = day_start
        self._queues: dict[str, _Queue] = {}
        # Waiting callers: channel Uniqueid -> (queue, joined at).
        self._waiting: dict[str, tuple[str, float]] = {}

    @property
    def settings(self) -> KpiSettings:
        """The thresholds in use."""
        return self._settings

    def queue_names(self) -> list[str]:
        """Every queue seen so far."""
        return sorted(self._queues)

    def feed(self, msg: AmiMessage, now: float) -> bool:
        """Apply one AMI event; True when it changed a figure."""
        name = msg.name
        if name == "QueueCallerJoin":
            self.caller_joined(msg.get("Queue"), msg.get("Uniqueid"), now)
        elif name == "QueueCallerLeave":
            return self._waiting.pop(msg.get("Uniqueid"), None) is not None
        elif name == "QueueCallerAbandon":
            self._waiting.pop(msg.get("Uniqueid"), None)
            self.caller_abandoned(msg.get("Queue"), _seconds(msg.get("HoldTime")), now)
        elif name == "AgentConnect":
            self._waiting.pop(msg.get("Uniqueid"), None)
            self.call_answered(msg.get("Queue"), _seconds(msg.get("HoldTime")), now)
        elif name == "AgentComplete":
            self.call_completed(msg.get("Queue"), _seconds(msg.get("TalkTime")), now)
        elif name == "Shutdown":
            changed = bool(self._waiting)
            self._waiting.clear()
            return changed
        else:
            return False
        return True

    def caller_joined(self, queue: str, caller_uid: str, now: float) -> None:
        """A caller entered `queue` (counts as an arrival; waits until answered or gone)."""
        bisect.insort_right(self._queue(queue).arrivals, now)
        self._waiting[caller_uid] = (queue, now)
        self._prune(now)

    def caller_abandoned(self, queue: str, wait_s: int, now: float) -> None:
        """A caller left `queue` unanswered after `wait_s` (hung up, or the queue timed out)."""
        self._queue(queue).outcomes.add(now, (0, 0, 0))

    def call_answered(self, queue: str, wait_s: int, now: float) -> None:
        """An agent answered a call of `queue` that waited `wait_s`."""
        within = 1 if wait_s <= self._settings.service_level_s else 0
        self._queue(queue).outcomes.add(now, (1, within, wait_s))

    def call_completed(self, queue: str, talk_s: int, now: float) -> None:
        """An answered call of `queue` ended after `talk_s` of talk."""
        self._queue(queue).completions.add(now, (talk_s,))

    def resync(self, queue_status: Sequence[AmiMessage], now: float) -> None:
        """Rebuild the waiting callers from QueueStatus (QueueParams, QueueEntry) after a (re)connect."""
        waiting: dict[str, tuple[str, float]] = {}
        for item in queue_status:
            if item.name == "QueueParams":
                self._queue(item.get("Queue"))
            elif item.name == "QueueEntry":
                uid = item.get("Uniqueid")
                known = self._waiting.get(uid)
                joined = known[1] if known is not None else now - _seconds(item.get("Wait"))
                waiting[uid] = (item.get("Queue"), joined)
                self._queue(item.get("Queue"))
        self._waiting = waiting

    def record_period(self, period: StatePeriod) -> None:
        """Count a closed agent-state period towards the occupancy of the queues the agent was in."""
        busy = period.presence in _BUSY
        if not busy and period.presence is not Presence.READY:
            return
        for queue in period.queues:
            _add_time(self._queue(queue).time, busy, period.started_at, period.ended_at)

    def figures(self, agents: Iterable[AgentStatus], now: float) -> list[QueueFigures]:
        """The figures of every queue at `now`, given the agents' current states."""
        # One pass over the agents and the waiting callers for all queues: with hundreds of agents
        # this is most of the work, and the wallboard asks for it a few times a second.
        members: dict[str, list[tuple[AgentStatus, Membership]]] = {}
        for status in agents:
            for membership in status.queues:
                members.setdefault(membership.queue, []).append((status, membership))
        for name in members:
            self._queue(name)
        waits: dict[str, list[float]] = {}
        for queue, joined in self._waiting.values():
            waits.setdefault(queue, []).append(now - joined)
        return [
            self._figures(name, q, members.get(name, []), waits.get(name, []), now)
            for name, q in sorted(self._queues.items())
        ]

    def staffed_agents(self, queue: str, agents: Iterable[AgentStatus], *, without: str | None = None) -> int:
        """Agents who take calls in `queue` now (ready, on a call or in wrap-up), minus `without`."""
        count = 0
        for status in agents:
            membership = status.in_queue(queue)
            if membership is None or status.interface == without:
                continue
            if not membership.paused or status.presence in (Presence.ON_CALL, Presence.WRAP_UP):
                count += 1
        return count

    def forecast_for(self, queue: str, staffed: int, now: float) -> Forecast:
        """Erlang C projection for `queue` with `staffed` agents."""
        q = self._queues.get(queue) or _Queue()
        since = now - ARRIVAL_WINDOW_S
        arrivals = len(q.arrivals) - bisect.bisect_right(q.arrivals, since)
        handle = self._handle_s(q, now - 3600.0) or self._settings.default_handle_s
        return forecast(arrivals / ARRIVAL_WINDOW_S, handle, staffed, self._settings)

    def _figures(
        self,
        name: str,
        q: _Queue,
        members: list[tuple[AgentStatus, Membership]],
        waits: list[float],
        now: float,
    ) -> QueueFigures:
        ready = on_call = wrap_up = paused = 0
        for status, membership in members:
            if status.presence is Presence.ON_CALL:
                on_call += 1
            elif status.presence is Presence.WRAP_UP:
                wrap_up += 1
            elif membership.paused:
                paused += 1
            else:
                ready += 1
        busy_now = _Stretches(now - s.since for s, _ in members if s.presence in _BUSY)
        ready_now = _Stretches(now - s.since for s, _ in members if s.presence is Presence.READY)
        day_start = self._day_start(now)
        windows = []
        for label, length_s in WINDOWS:
            start = day_start if length_s is None else max(now - length_s, day_start)
            windows.append((label, self._window(q, busy_now, ready_now, start, now)))
        # Staffed: ready, on a call or in wrap-up (a paused agent on a call still counts).
        staffed = ready + on_call + wrap_up
        return QueueFigures(
            name,
            len(waits),
            max(waits, default=0.0),
            ready,
            on_call,
            wrap_up,
            paused,
            tuple(windows),
            self.forecast_for(name, staffed, now),
        )

    def _window(
        self, q: _Queue, busy_now: _Stretches, ready_now: _Stretches, start: float, now: float
    ) -> WindowFigures:
        total, (answered_f, within, waited_s) = q.outcomes.since(start)
        answered = int(answered_f)
        abandoned = total - answered
        return WindowFigures(
            answered=answered,
            abandoned=abandoned,
            service_level=within / total if total else None,
            asa_s=waited_s / answered if answered else None,
            abandon_rate=abandoned / total if total else None,
            aht_s=self._handle_s(q, start),
            occupancy=occupancy(q.time, busy_now, ready_now, start, now),
        )

    def _handle_s(self, q: _Queue, since: float) -> float | None:
        count, (talked_s,) = q.completions.since(since)
        if not count:
            return None
        return talked_s / count + self._settings.wrap_up_s

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue()
        return queue

    def _prune(self, now: float) -> None:
        day_start = self._day_start(now)
        # Keep an hour before midnight too: the 60-minute window reaches back across it.
        keep_from = min(day_start, now - 3600.0)
        for q in self._queues.values():
            if q.arrivals and q.arrivals[0] < keep_from:
                q.arrivals = [t for t in q.arrivals if t >= keep_from]
            q.outcomes.drop_before(keep_from)
            q.completions.drop_before(keep_from)
            oldest = int(keep_from // BUCKET_S)
            for bucket in [b for b in q.time if b < oldest]:
                del q.time[bucket]


_BUSY = (Presence.ON_CALL, Presence.WRAP_UP)


def _add_time(time: dict[int, list[float]], busy: bool, start: float, end: float) -> None:
    """Spread [start, end) over the minute buckets it touches."""
    slot = 0 if busy else 1
    at = start
    while at < end:
        bucket = int(at // BUCKET_S)
        until = min(end, (bucket + 1) * BUCKET_S)
        totals = time.get(bucket)
        if totals is None:
            totals = time[bucket] = [0.0, 0.0]
        totals[slot] += until - at
        at = until


class _Stretches:
    """How long each member has been in its current state, sorted with running totals, so the
    part of any window they account for is two bisects, however many members there are."""

    __slots__ = ("_ages", "_totals")

    def __init__(self, ages: Iterable[float]) -> None:
        self._ages = sorted(ages)
        self._totals = list(itertools.accumulate(self._ages, initial=0.0))

    def within(self, length_s: float) -> float:
        """Seconds of the last `length_s` spent in the current states, summed over the members."""
        started = bisect.bisect_right(self._ages, 0.0)  # a state that begins now (or later) counts nothing
        inside = max(bisect.bisect_left(self._ages, length_s), started)
        return self._totals[inside] - self._totals[started] + (len(self._ages) - inside) * length_s


def occupancy(
    time: dict[int, list[float]], busy_now: _Stretches, ready_now: _Stretches, start: float, now: float
) -> float | None:
    """Busy time (on calls, wrap-up) / (busy + ready time) from `start` to `now`.

    Closed periods come from the minute buckets (a bucket counts when it starts at or after the
    minute `start` falls in); the current state of each member counts from its start up to `now`.
    """
    first = int(start // BUCKET_S)
    busy = ready = 0.0
    for bucket, (b, r) in time.items():
        if bucket >= first:
            busy += b
            ready += r
    busy += busy_now.within(now - start)
    ready += ready_now.within(now - start)
    if busy + ready <= 0:
        return None
    return busy / (busy + ready)
