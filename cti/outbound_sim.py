"""A simulated-clock outbound call center: agents, a PBX that answers some dials, and the pacer.

Hours of dialling run in a second or so, so the benchmark (bench/dialer_sim.py) and the tests
compare progressive and predictive pacing on identical traffic. Everything is driven by one
seeded random generator and one clock that only this model advances: no real time passes.

The traffic model (the figures are the simulation's settings, not measurements):
- a dial is answered with probability `answer_rate`, after `answer_delay_s` (uniform range);
- unanswered dials are no answer (ringing until `no_answer_timeout_s`), busy or failed, in the
  proportions of `unanswered_mix`, each after its own delay;
- a connected call lasts a gamma-distributed handle time with mean `aht_s` (shape 2);
- an answered call with no agent free within `drop_grace_s` is dropped (the 2 s rule).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from dataclasses import dataclass

from cti.campaigns import DialMethod
from cti.pacing import Pacer, PacingSettings


@dataclass(frozen=True, slots=True)
class TrafficSettings:
    """The simulated call center: staff, how people answer, and how long calls last."""

    agents: int = 20
    answer_rate: float = 0.25
    aht_s: float = 180.0
    hours: float = 8.0
    answer_delay_s: tuple[float, float] = (5.0, 25.0)
    no_answer_timeout_s: float = 30.0
    busy_delay_s: float = 3.0
    failed_delay_s: float = 1.0
    # Shares of the unanswered dials: no answer, busy, failed.
    unanswered_mix: tuple[float, float, float] = (0.67, 0.22, 0.11)
    drop_grace_s: float = 2.0
    tick_s: float = 1.0
    seed: int = 6

    def __post_init__(self) -> None:
        if self.agents < 1 or self.hours <= 0 or self.aht_s <= 0 or self.tick_s <= 0:
            raise ValueError("agents, hours, aht_s and tick_s must be positive")
        if not 0 < self.answer_rate <= 1:
            raise ValueError("answer_rate must be within 0..1")
        if abs(sum(self.unanswered_mix) - 1.0) > 1e-9:
            raise ValueError("unanswered_mix must sum to 1")


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What one simulated shift came to."""

    method: DialMethod
    dialled: int
    answered: int
    dropped: int
    talk_s: float
    agent_hours: float
    final_level: float
    max_abandon_rate_24h: float

    @property
    def talk_minutes_per_agent_hour(self) -> float:
        """Minutes an agent spends talking per hour logged in."""
        return self.talk_s / 60.0 / self.agent_hours

    @property
    def abandon_rate(self) -> float:
        """Dropped calls as a share of live-answered calls, over the whole shift."""
        return self.dropped / self.answered if self.answered else 0.0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


_ANSWER, _UNANSWERED, _AGENT_FREE, _DROP_DEADLINE = range(4)


def simulate(
    method: DialMethod, traffic: TrafficSettings, pacing: PacingSettings | None = None
) -> SimulationResult:
    """Run one shift of `traffic` with the given dial method and return its figures."""
    rng = random.Random(traffic.seed)  # noqa: S311 - traffic shape, not security
    clock = _Clock()
    pacer = Pacer(pacing or PacingSettings(), clock)
    end = traffic.hours * 3600.0
    events: list[tuple[float, int, int, int]] = []
    seq = itertools.count()
    free_agents = traffic.agents
    busy_since: dict[int, float] = {}
    in_flight = 0
    waiting: deque[int] = deque()  # answered calls waiting for an agent (drop deadline pending)
    waiting_set: set[int] = set()
    call_ids = itertools.count()
    dial_started: dict[int, float] = {}
    dialled = answered = dropped = 0
    talk_s = 0.0
    max_rate = 0.0

    def push(at: float, kind: int, ref: int) -> None:
        heapq.heappush(events, (at, next(seq), kind, ref))

    def connect(start: float) -> None:
        nonlocal free_agents, talk_s
        free_agents -= 1
        handle = rng.gammavariate(2.0, traffic.aht_s / 2.0)
        talk_s += max(0.0, min(start + handle, end) - start)
        agent_call = next(call_ids)
        busy_since[agent_call] = start
        push(start + handle, _AGENT_FREE, agent_call)

    def dial() -> None:
        nonlocal in_flight, dialled
        call = next(call_ids)
        dialled += 1
        in_flight += 1
        dial_started[call] = clock.now
        if rng.random() < traffic.answer_rate:
            push(clock.now + rng.uniform(*traffic.answer_delay_s), _ANSWER, call)
            return
        draw = rng.random()
        no_answer, busy, _failed = traffic.unanswered_mix
        if draw < no_answer:
            delay = traffic.no_answer_timeout_s
        elif draw < no_answer + busy:
            delay = traffic.busy_delay_s
        else:
            delay = traffic.failed_delay_s
        push(clock.now + delay, _UNANSWERED, call)

    tick = 0.0
    while tick < end:
        while events and events[0][0] <= tick:
            at, _, kind, ref = heapq.heappop(events)
            clock.now = at
            if kind == _ANSWER:
                in_flight -= 1
                answered += 1
                pacer.record_attempt(True, at - dial_started.pop(ref))
                if free_agents > 0:
                    pacer.record_answered(dropped=False)
                    connect(at)
                else:
                    waiting.append(ref)
                    waiting_set.add(ref)
                    push(at + traffic.drop_grace_s, _DROP_DEADLINE, ref)
            elif kind == _UNANSWERED:
                in_flight -= 1
                pacer.record_attempt(False, at - dial_started.pop(ref))
            elif kind == _AGENT_FREE:
                free_agents += 1
                pacer.record_handle_time(at - busy_since.pop(ref))
                while waiting and free_agents > 0:
                    call = waiting.popleft()
                    waiting_set.discard(call)
                    pacer.record_answered(dropped=False)
                    connect(at)
            elif kind == _DROP_DEADLINE and ref in waiting_set:
                waiting_set.discard(ref)
                waiting.remove(ref)
                dropped += 1
                pacer.record_answered(dropped=True)
        clock.now = tick
        wanted = pacer.calls_to_place(
            method,
            free_agents=free_agents,
            busy_elapsed_s=[tick - t for t in busy_since.values()],
            in_flight_ages_s=[tick - t for t in dial_started.values()],
        )
        for _ in range(wanted):
            dial()
        snapshot_rate = pacer.snapshot().abandon_rate_24h if answered >= 100 else 0.0
        max_rate = max(max_rate, snapshot_rate)
        tick += traffic.tick_s
    return SimulationResult(
        method=method,
        dialled=dialled,
        answered=answered,
        dropped=dropped,
        talk_s=talk_s,
        agent_hours=traffic.agents * traffic.hours,
        final_level=pacer.level,
        max_abandon_rate_24h=max_rate,
    )
