"""The simulated PBX's state: its queue members, the queue's counters and the calls in progress.

Pure state and app_queue's rules, no I/O and no event loop: which free member rings next
(rrmemory), who waits for whom, what a frame's hook changes, and the values every frame is
rendered with. Whatever a frame says about a member, a call or the queue comes from here; the
frame's shape comes from its recording (`cti.simulator.scenarios`, `cti.simulator.frames`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from cti.simulator.frames import AgentInterface, c_escape
from cti.simulator.scenarios import MEMBER_STATUS_HOLES, ChannelItem, CompiledScenario, Frame, Hook

__all__ = ["Call", "Member", "Pbx", "Plan", "QueueStats", "Step", "Waiter"]

# Frames whose recorded times lie closer than this are written together: fewer timers and
# writes at 50 calls/s, and no client can tell 2 ms apart from AMI's own jitter.
_BATCH_WINDOW_S = 0.002
# app_queue counts a call as answered within the service level when it waited no longer than
# `servicelevel`; the lab queues leave it at 0 (see QUEUESRVLEVEL in the recordings).
_SERVICE_LEVEL_S = 0


@dataclass(frozen=True, slots=True)
class Step:
    """Frames written together, `offset_s` after the call started (or after the agents got seated)."""

    offset_s: float
    gate: bool
    frames: tuple[Frame, ...]
    last_index: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled scenario laid out on the simulator's clock."""

    scenario: CompiledScenario
    steps: tuple[Step, ...]

    @classmethod
    def build(cls, scenario: CompiledScenario, *, ring_s: float, talk_s: float, time_scale: float) -> Plan:
        """Place every frame on the clock: recorded gaps times `time_scale`, except inside the
        ring and talk phases, whose frames are spread over exactly `ring_s` and `talk_s`."""
        frames = scenario.frames
        phases = [(scenario.ring, ring_s)]
        if scenario.talk is not None:
            phases.append((scenario.talk, talk_s))
        phase_of: dict[int, tuple[int, int, float]] = {}
        for (anchor, end), duration_s in phases:
            for i in range(anchor + 1, end + 1):
                phase_of[i] = (anchor, end, duration_s)
        offsets: list[float] = []
        for frame in frames:
            i = frame.index
            if not offsets:
                offset = 0.0
            elif i in phase_of:
                anchor, end, duration_s = phase_of[i]
                span = frames[end].t - frames[anchor].t
                share = (frame.t - frames[anchor].t) / span if span > 0 else 1.0
                offset = offsets[anchor] + min(max(share, 0.0), 1.0) * duration_s
            else:
                offset = offsets[-1] + max(frame.t - frames[i - 1].t, 0.0) * time_scale
            offsets.append(max(offset, offsets[-1]) if offsets else offset)
        steps: list[Step] = []
        batch: list[Frame] = []
        for frame in scenario.frames:
            offset = offsets[frame.index]
            starts_gate = frame.index == scenario.gate_index
            if batch and (starts_gate or offset - offsets[batch[0].index] > _BATCH_WINDOW_S):
                first = batch[0].index
                steps.append(
                    Step(offsets[first], first == scenario.gate_index, tuple(batch), batch[-1].index)
                )
                batch = []
            batch.append(frame)
        first = batch[0].index
        steps.append(Step(offsets[first], first == scenario.gate_index, tuple(batch), batch[-1].index))
        return cls(scenario, tuple(steps))


@dataclass(eq=False, slots=True)
class Member:
    """One queue member's state, in app_queue's numbers (Status 1 NOT_INUSE, 2 INUSE)."""

    agent: AgentInterface
    busy: bool = False
    in_call: int = 0
    status: int = 1
    calls_taken: int = 0
    last_call: int = 0
    # Queue membership as QueueAdd/QueueRemove/QueuePause leave it (configured agents start in).
    in_queue: bool = True
    dynamic: bool = False
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    last_pause: int = 0

    @property
    def available(self) -> bool:
        """Can be offered a call now."""
        return self.in_queue and not self.paused and not self.busy

    def ring(self) -> None:
        """Offered a call: the device is in use until the call lets it go."""
        self.busy, self.in_call, self.status = True, 0, 2

    def connect(self) -> None:
        """Answered the call it was offered."""
        self.in_call = 1

    def complete(self, epoch: int) -> None:
        """Finished a call it answered."""
        self.calls_taken += 1
        self.last_call = epoch

    def idle(self) -> None:
        """The call let the device go."""
        self.busy, self.in_call, self.status = False, 0, 1


@dataclass(eq=False, slots=True)
class QueueStats:
    """The queue counters app_queue reports in QueueParams and the QUEUE* variables."""

    waiting: list[Call] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    holdtime_s: int = 0
    talktime_s: int = 0

    def record_hold(self, hold_s: int) -> None:
        """A caller was connected after waiting `hold_s`."""
        # app_queue keeps exponentially weighted averages: (3 * old + new) / 4.
        self.holdtime_s = (3 * self.holdtime_s + hold_s) >> 2

    def record_completion(self, hold_s: int, talk_s: int) -> None:
        """An answered call ended."""
        self.completed += 1
        self.completed_in_sl += hold_s <= _SERVICE_LEVEL_S
        self.talktime_s = (3 * self.talktime_s + talk_s) >> 2

    def record_abandon(self, hold_s: int) -> None:
        """A caller hung up while waiting."""
        self.abandoned += 1
        self.abandoned_in_sl += hold_s <= _SERVICE_LEVEL_S

    def service_level_perf(self) -> str:
        """ServicelevelPerf: answered within the service level, of the answered calls."""
        return f"{100.0 * self.completed_in_sl / self.completed:.1f}" if self.completed else "0.0"

    def service_level_perf2(self) -> str:
        """ServicelevelPerf2: within the service level, of the answered and abandoned calls."""
        total = self.completed + self.abandoned
        return f"{100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total:.1f}" if total else "0.0"


@dataclass(eq=False, slots=True)
class Call:
    """One call in progress: its rendering values and where it stands in its plan."""

    linkedid: str
    plan: Plan
    values: dict[str, str]
    requested: tuple[AgentInterface, ...] | None
    started: float
    agents: dict[str, AgentInterface] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    agents_at: float | None = None
    t_join: float | None = None
    t_called: float | None = None
    t_connect: float | None = None
    hold_s: int = -1
    progress: int = -1
    # Dialled to its agent directly (an Originate's HOTLINE_AGENT), not through the queue.
    direct: bool = False


@dataclass(eq=False, slots=True)
class Waiter:
    """A caller waiting for one of `wanted`; `take(agent)` hands them an agent, False when they left."""

    wanted: frozenset[str]
    take: Callable[[AgentInterface], bool]


class Pbx:
    """The queue, its members and the calls in progress; times are the caller's clock (`now`)."""

    def __init__(
        self, queue: str, agents: Sequence[AgentInterface], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.queue_name = queue
        self.queue = QueueStats()
        self.agents = {agent.interface: agent for agent in agents}
        self._order = tuple(self.agents.values())
        self._index = {agent.interface: i for i, agent in enumerate(self._order)}
        self.members = {name: Member(agent) for name, agent in self.agents.items()}
        self.calls: dict[str, Call] = {}
        self._waiters: list[Waiter] = []
        self._rr_next = 0
        self._clock = clock  # wall clock, for Uniqueids, LastCall, LastPause and LoginTime
        self.booted_at = clock()
        self._channel_seq = 0
        self._uid_seq = 0
        self._call_seq = 0

    # -- calls --------------------------------------------------------------------------------

    def new_call(
        self,
        plan: Plan,
        number: str,
        name: str,
        now: float,
        *,
        agents: tuple[AgentInterface, ...] | None = None,
        uids: tuple[str, str] | None = None,
        originate_action_id: str | None = None,
        direct: bool = False,
    ) -> Call:
        """A call entering the PBX, with fresh channels and ids; its frames start at `now`."""
        values = dict.fromkeys(plan.scenario.holes, "")
        seq = self._next_channel_seq()
        values["c1"] = f"{plan.scenario.caller_prefix}-{seq};1"
        values["c2"] = f"{plan.scenario.caller_prefix}-{seq};2"
        values["c1_uid"], values["c2_uid"] = uids or (self.next_uid(), self.next_uid())
        values["c_num"] = number
        values["c_name"] = c_escape(name) if name else "<unknown>"
        values["queue"] = self.queue_name
        values["bridge"] = str(uuid.uuid4())
        self._call_seq += 1
        values["orig_action_id"] = (
            f"hotline-sim-{self._call_seq}" if originate_action_id is None else originate_action_id
        )
        values["login_time"] = str(int(self.booted_at))
        call = Call(values["c1_uid"], plan, values, agents, now, direct=direct)
        self.calls[call.linkedid] = call
        return call

    def end_call(self, call: Call) -> None:
        """The call's last frame is out (or it was cut short): it leaves the queue and frees its agents."""
        self.calls.pop(call.linkedid, None)
        if call in self.queue.waiting:
            self.queue.waiting.remove(call)
        for group in list(call.held):
            self._release(call, group)

    def knows_channel(self, channel: str) -> bool:
        """Whether `channel` is a caller channel of a call in progress."""
        return any(channel in (c.values.get("c1"), c.values.get("c2")) for c in self.calls.values())

    def next_uid(self) -> str:
        """A fresh Uniqueid, `<epoch>.<seq>` as Asterisk makes them."""
        seq = self._uid_seq
        self._uid_seq += 1
        return f"{int(self._clock())}.{seq}"

    def _next_channel_seq(self) -> str:
        seq = self._channel_seq
        self._channel_seq += 1
        return f"{seq:08x}"

    # -- ringing members ---------------------------------------------------------------------------

    def candidates(self, call: Call) -> Sequence[AgentInterface]:
        """Who may ring for `call`: the agents it asked for, else every configured one."""
        return call.requested or self._order

    def take_free(
        self, candidates: Sequence[AgentInterface], count: int, *, rotate: bool, queued: bool = True
    ) -> list[AgentInterface]:
        """Ring up to `count` free agents; rrmemory (`rotate`) starts after the last one offered.

        A `queued` call rings nobody while callers wait before it; a direct dial skips the queue.
        """
        taken: list[AgentInterface] = []
        if self._waiters and queued:
            return taken  # callers already waiting come first
        start = self._rr_next if rotate else 0
        for k in range(len(candidates)):
            if len(taken) == count:
                break
            agent = candidates[(start + k) % len(candidates)]
            member = self.member(agent)
            if member.available:
                member.ring()
                taken.append(agent)
        if taken and rotate:
            self._rr_next = self._index[taken[0].interface] + 1
        return taken

    def wait_for(
        self, candidates: Sequence[AgentInterface], take: Callable[[AgentInterface], bool]
    ) -> Waiter:
        """Queue a caller for the next of `candidates` that comes free (see `offer`)."""
        waiter = Waiter(frozenset(a.interface for a in candidates), take)
        self._waiters.append(waiter)
        return waiter

    def stop_waiting(self, waiter: Waiter) -> None:
        """The caller stopped waiting (hung up, or the simulator stops)."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    @property
    def anyone_free(self) -> bool:
        """Whether a new caller would find a member not on a call, nobody waiting before them."""
        return not self._waiters and any(not m.busy for m in self.members.values())

    def free_agent(self, interface: str) -> None:
        """The agent's call let the device go: offer it to whoever waits."""
        member = self.members[interface]
        member.idle()
        self.offer(member)

    def offer(self, member: Member) -> None:
        """Hand an available member straight to the caller who waited longest for them."""
        if not member.available:
            return
        for waiter in self._waiters:
            if member.agent.interface in waiter.wanted and waiter.take(member.agent):
                self._waiters.remove(waiter)
                member.ring()
                return

    def member(self, agent: AgentInterface) -> Member:
        """The member for `agent` (an agent asked for by name joins the PBX's members)."""
        member = self.members.get(agent.interface)
        if member is None:
            member = self.members[agent.interface] = Member(agent)
        return member

    def seat(self, call: Call, seated: Sequence[AgentInterface], now: float) -> None:
        """The agents ringing for `call`, one per agent group of its scenario; the rest stay absent."""
        scenario = call.plan.scenario
        call.agents_at = now
        values = call.values
        for group, agent in zip(scenario.groups, seated, strict=False):
            call.agents[group] = agent
            call.held.add(group)
            seq = self._next_channel_seq()
            if agent.local:
                values[f"{group}1"] = f"{agent.interface}-{seq};1"
                values[f"{group}2"] = f"{agent.interface}-{seq};2"
                values[f"{group}1_uid"] = self.next_uid()
                values[f"{group}2_uid"] = self.next_uid()
            else:
                # A SIP phone is one channel; the frames of the second Local half are skipped.
                values[f"{group}1"] = f"{agent.interface}-{seq}"
                values[f"{group}1_uid"] = self.next_uid()
                call.absent.add(f"{group}2")
            values[f"{group}_member"] = agent.location
            values[f"{group}_device"] = agent.interface
            values[f"{group}_peer"] = agent.peer
            values[f"{group}_name"] = agent.name
            values[f"{group}_exten"] = agent.exten
            values[f"{group}_context"] = agent.context
        for group in scenario.groups[len(seated) :]:
            call.absent.add(group)

    def _release(self, call: Call, group: str) -> None:
        if group in call.held:
            call.held.discard(group)
            self.free_agent(call.agents[group].interface)

    # -- what frames change and show ----------------------------------------------------------------

    def apply(self, call: Call, hook: Hook, now: float) -> None:
        """The state change a frame stands for, right before it is rendered."""
        queue = self.queue
        values = call.values
        if hook is Hook.JOIN:
            queue.waiting.append(call)
            call.t_join = now
            values["join_position"] = str(len(queue.waiting))
            values["join_count"] = str(len(queue.waiting))
        elif hook is Hook.CALLED:
            if call.t_called is None:
                call.t_called = now
        elif hook is Hook.CONNECT:
            call.t_connect = now
            hold_s = _fix_hold(call, now)
            values["ring_time_s"] = str(_whole_s(now - (call.t_called or now)))
            queue.record_hold(hold_s)
            if "a" in call.held:
                self.members[call.agents["a"].interface].connect()
        elif hook is Hook.LEAVE or hook is Hook.ABANDON:
            if call in queue.waiting:
                values["position"] = str(queue.waiting.index(call) + 1)
                if hook is Hook.LEAVE:
                    queue.waiting.remove(call)
                    values["leave_count"] = str(len(queue.waiting))
            if hook is Hook.ABANDON:
                queue.record_abandon(_fix_hold(call, now))
        elif hook is Hook.COMPLETE:
            talk_s = _whole_s(now - (call.t_connect or now))
            values["talk_time_s"] = str(talk_s)
            queue.record_completion(call.hold_s, talk_s)
            if "a" in call.agents:
                self.members[call.agents["a"].interface].complete(int(self._clock()))
        elif hook is Hook.RELEASE_A:
            self._release(call, "a")
        elif hook is Hook.RELEASE_B:
            self._release(call, "b")

    def refresh(self, call: Call, now: float) -> None:
        """Update the values that change while a call plays: queue counters, its members' state, timers."""
        values = call.values
        queue = self.queue
        values["q_calls"] = str(len(queue.waiting))
        values["q_completed"] = str(queue.completed)
        values["q_abandoned"] = str(queue.abandoned)
        values["q_holdtime"] = str(queue.holdtime_s)
        values["q_talktime"] = str(queue.talktime_s)
        values["q_slperf"] = queue.service_level_perf()
        for group, agent in call.agents.items():
            state = self.member_values(self.members[agent.interface])
            for key in MEMBER_STATUS_HOLES.values():
                values[f"{group}_{key}"] = state[key]
        if call.t_join is not None and call.hold_s < 0:
            hold_s = _whole_s(now - call.t_join)
            values["hold_s"] = str(hold_s)
            values["hold_ms"] = str(hold_s * 1000)
        dialed_ms = int((now - call.started) * 1000)
        values["dialed_ms"] = str(dialed_ms)
        values["dialed_s"] = str(dialed_ms // 1000)
        answered_ms = 0 if call.t_connect is None else int((now - call.t_connect) * 1000)
        values["answered_ms"] = str(answered_ms)
        values["answered_s"] = str(answered_ms // 1000)

    def channels(self, now: float) -> Iterator[tuple[ChannelItem, dict[str, str]]]:
        """Every live channel's CoreShowChannel item and its values, newest call first."""
        for call in reversed(self.calls.values()):
            if call.progress < 0:
                continue
            values: dict[str, str] | None = None
            for item in call.plan.scenario.channels_after[call.progress]:
                if item.needs and not item.needs.isdisjoint(call.absent):
                    continue
                if values is None:
                    values = dict(call.values)
                    values["dur_c"] = _hms(now - call.started)
                    values["dur_a"] = values["dur_b"] = _hms(now - (call.agents_at or now))
                yield item, values

    # -- queue membership ------------------------------------------------------------------------

    def find_member(self, interface: str) -> Member | None:
        """The member an action names, by its member interface or its device."""
        return next(
            (
                m
                for m in self.members.values()
                if interface and interface in (m.agent.location, m.agent.interface)
            ),
            None,
        )

    def add(self, member: Member, *, paused: bool, penalty: int) -> None:
        """QueueAdd: the member joins the queue as a dynamic member."""
        member.in_queue, member.dynamic = True, True
        member.paused = paused
        member.reason = ""
        member.penalty = penalty

    def remove(self, member: Member) -> None:
        """QueueRemove: the member leaves the queue (and is offered no calls)."""
        member.in_queue = False

    def pause(self, member: Member, *, paused: bool, reason: str) -> None:
        """QueuePause: paused members are offered no calls; the reason stays until unpaused."""
        member.paused = paused
        member.reason = reason if paused else ""
        if paused:
            member.last_pause = int(self._clock())

    def queue_values(self) -> dict[str, str]:
        """The queue's figures, as QueueParams reports them."""
        q = self.queue
        return {
            "queue": self.queue_name,
            "calls": str(len(q.waiting)),
            "holdtime": str(q.holdtime_s),
            "talktime": str(q.talktime_s),
            "completed": str(q.completed),
            "abandoned": str(q.abandoned),
            "sl_perf": q.service_level_perf(),
            "sl_perf2": q.service_level_perf2(),
        }

    def member_values(self, member: Member) -> dict[str, str]:
        """A member's state, as QueueMember and the QueueMember* events report it."""
        a = member.agent
        return {
            "queue": self.queue_name,
            "name": a.name,
            "location": a.location,
            "membership": "dynamic" if member.dynamic else "static",
            "penalty": str(member.penalty),
            "calls_taken": str(member.calls_taken),
            "last_call": str(member.last_call),
            "last_pause": str(member.last_pause),
            "login_time": str(int(self.booted_at)),
            "in_call": str(member.in_call),
            "status": str(member.status),
            "paused": "1" if member.paused else "0",
            "paused_reason": c_escape(member.reason),
        }

    def waiting(self, now: float) -> Iterator[dict[str, str]]:
        """The callers waiting in the queue, in order, with the values of their QueueEntry."""
        for position, call in enumerate(self.queue.waiting, start=1):
            yield {**call.values, "position": str(position), "wait": str(int(now - (call.t_join or now)))}


def _fix_hold(call: Call, now: float) -> int:
    if call.hold_s < 0:
        call.hold_s = _whole_s(now - (call.t_join or now))
        call.values["hold_s"] = str(call.hold_s)
        call.values["hold_ms"] = str(call.hold_s * 1000)
    return call.hold_s


def _whole_s(seconds: float) -> int:
    # Whole seconds as app_queue reports them; the epsilon absorbs float noise in planned offsets.
    return int(seconds + 1e-6)


def _hms(seconds: float) -> str:
    total = max(int(seconds), 0)
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
