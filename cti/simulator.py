"""Built-in PBX simulator: a loopback AMI server that plays queue calls like a real Asterisk 22.

Every byte it sends comes from a frame a real Asterisk 22.10.1 sent in the lab (`cti/scenarios/`),
queue-member actions (QueueAdd, QueueRemove, QueuePause) included.
At start each recorded frame is compiled once into a %-template whose holes are the identifying
values only: ids, channel names, caller, queue, agent interface, timings, counters and ActionIDs.
A call is the recorded event sequence rendered with fresh values and replayed on the recorded
clock, with the ring and talk phases stretched to the configured durations.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import hmac
import logging
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Literal

from cti.agi_caller import walk_ivr
from cti.ami_protocol import MAX_ACTION_HEADERS, MAX_ACTION_LINE_BYTES, AmiMessage

__all__ = ["PbxSimulator", "Scenario", "SimulatorSettings"]

logger = logging.getLogger(__name__)
wire_logger = logging.getLogger("cti.simulator.wire")

Scenario = Literal["answered", "abandon", "ringall"]
FrameCallback = Callable[[str, AmiMessage | bytes, float], None]

_TERMINATOR = b"\r\n\r\n"
# The longest action Asterisk itself would accept: 128 header lines of 1024 bytes.
_ACTION_LIMIT = (MAX_ACTION_LINE_BYTES + 2) * MAX_ACTION_HEADERS
# Frames whose recorded times lie closer than this are written together: fewer timers and
# writes at 50 calls/s, and no client can tell 2 ms apart from AMI's own jitter.
_BATCH_WINDOW_S = 0.002
# app_queue counts a call as answered within the service level when it waited no longer than
# `servicelevel`; the lab queues leave it at 0 (see QUEUESRVLEVEL in the recordings).
_SERVICE_LEVEL_S = 0
_MAX_VALUE_CHARS = 80
# What a simulated caller keys in the IVR's main menu: an agent, a FAQ then an agent, ...
_IVR_CHOICES: tuple[tuple[str, ...], ...] = (("0",), ("2", "0"), ("3", "0"), ("4", "0"))
_DEMO_NAMES = (
    "Nguyễn Văn An",
    "Trần Thị Bích",
    "Lê Hoàng Cường",
    "Phạm Thu Dung",
    "Hoàng Minh Đức",
    "Võ Thị Giang",
    "Đặng Quốc Huy",
    "Bùi Ngọc Lan",
)
_UNAUTHENTICATED_TV = "1970-01-01T00:00:00.000+0000"  # what Asterisk shows before a login


@dataclass(frozen=True)
class SimulatorSettings:
    """How the simulated PBX listens, authenticates and generates queue traffic.

    Ring and talk durations are absolute; `time_scale` only shrinks the recorded gaps between them.
    """

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "hotline"
    secret: str = field(default="hotline-demo", repr=False)
    queue: str = "support"
    agent_interfaces: tuple[str, ...] = ("Local/1001@agents", "Local/1002@agents")
    calls_per_minute: float = 6.0
    ring_s: float = 4.0
    talk_s: float = 20.0
    abandon_share: float = 0.15
    ringall_share: float = 0.2
    caller_numbers: tuple[tuple[str, str], ...] = ()
    time_scale: float = 1.0
    seed: int | None = None
    auth_failure_delay_s: float = 1.0
    client_buffer_bytes: int = 4 * 1024 * 1024
    # Originate (outbound dialling): the share of dials answered and busy (the rest ring out),
    # seconds until answer or busy, and seconds until an unanswered dial gives up.
    originate_answer_share: float = 0.5
    originate_busy_share: float = 0.2
    originate_ring_s: float = 3.0
    originate_no_answer_s: float = 8.0
    # An answered campaign call reaches an agent on auto-answer, as predictive dialling needs
    # (the customer is dropped after 2 s without one): the agent's leg rings this long, not ring_s.
    outbound_agent_ring_s: float = 0.5
    # The share of inbound calls that walk Hotline's FastAGI IVR before joining the queue, and
    # where it listens (the demo sends half of its calls through it).
    ivr_share: float = 0.0
    ivr_host: str = "127.0.0.1"
    ivr_port: int = 4573

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is out of range")
        for name in ("username", "secret", "queue"):
            value = getattr(self, name)
            if not value or _bad_text(value):
                problems.append(f"{name} must be non-empty text without control characters")
        if not re.fullmatch(r"[\w.-]{1,80}", self.queue):
            problems.append(f"queue {self.queue!r} must be 1-80 letters, digits, '_', '.' or '-'")
        if not self.agent_interfaces:
            problems.append("agent_interfaces must name at least one interface")
        for interface in self.agent_interfaces:
            try:
                _AgentInterface.parse(interface)
            except ValueError as exc:
                problems.append(str(exc))
        for name in (
            "calls_per_minute",
            "ring_s",
            "talk_s",
            "auth_failure_delay_s",
            "originate_ring_s",
            "originate_no_answer_s",
            "outbound_agent_ring_s",
        ):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be >= 0")
        if not self.time_scale > 0:
            problems.append("time_scale must be > 0")
        shares = (self.abandon_share, self.ringall_share)
        if not all(0 <= s <= 1 for s in shares) or sum(shares) > 1:
            problems.append("abandon_share and ringall_share must be within 0..1 and sum to at most 1")
        originate = (self.originate_answer_share, self.originate_busy_share)
        if not all(0 <= x <= 1 for x in originate) or sum(originate) > 1:
            problems.append("originate_answer_share and originate_busy_share must be within 0..1, sum <= 1")
        if not 0 <= self.ivr_share <= 1 or not 0 <= self.ivr_port <= 65535:
            problems.append("ivr_share must be within 0..1 and ivr_port within 0..65535")
        if self.client_buffer_bytes < 64 * 1024:
            problems.append("client_buffer_bytes must be at least 64 KiB")
        for number, name in self.caller_numbers:
            try:
                _check_caller(number, name)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("invalid simulator settings: " + "; ".join(problems))


class PbxSimulator:
    """A TCP server on loopback that speaks Asterisk's AMI and plays queue calls.

    Several clients may log in; each gets every event through its own bounded buffer.
    """

    def __init__(self, settings: SimulatorSettings) -> None:
        self._settings = settings
        self._rng = random.Random(settings.seed)  # noqa: S311 - traffic shape, not security
        self._ivr_reachable = True
        self._agents = {i.interface: i for i in map(_AgentInterface.parse, settings.agent_interfaces)}
        self._agent_order = tuple(self._agents.values())
        self._agent_index = {agent.interface: i for i, agent in enumerate(self._agent_order)}
        self._members = {name: _Member(agent) for name, agent in self._agents.items()}
        self._rr_next = 0
        self._agent_waiters: list[tuple[frozenset[str], asyncio.Future[str]]] = []
        self._queue = _QueueStats()
        self._calls: dict[str, _Call] = {}
        self._call_tasks: set[asyncio.Task[None]] = set()
        self._sessions: dict[_Session, None] = {}
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._frame_callbacks: list[FrameCallback] = []
        self._sent: list[tuple[str, bytes]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._plans: dict[str, _Plan] = {}
        self._outbound_plans: dict[str, _Plan] = {}
        self._protocol: _ProtocolTemplates | None = None
        self._blank_values: dict[str, str] = {}
        self._channel_seq = 0
        self._uid_seq = 0
        self._call_seq = 0
        self._started_epoch = 0.0
        self._closed = False

    async def start(self) -> None:
        """Compile the recorded frames and start listening; `port` is the bound port afterwards."""
        if self._server is not None or self._closed:
            raise RuntimeError("the simulator was already started")
        self._loop = asyncio.get_running_loop()
        self._protocol = _protocol_templates()
        scenarios = _scenarios()
        self._plans = {name: _Plan.build(sc, self._settings) for name, sc in scenarios.items()}
        auto_answer = replace(self._settings, ring_s=self._settings.outbound_agent_ring_s)
        self._outbound_plans = {"answered": _Plan.build(scenarios["answered"], auto_answer)}
        holes: set[str] = set()
        for sc in scenarios.values():
            holes.update(sc.holes)
        self._blank_values = dict.fromkeys(sorted(holes), "")
        self._started_epoch = time.time()
        self._server = await asyncio.start_server(
            self._accept,
            self._settings.host,
            self._settings.port,
            limit=_ACTION_LIMIT,
        )
        logger.info(
            "PBX simulator listening on %s:%d (queue %s)", self._settings.host, self.port, self._queue_name
        )

    @property
    def port(self) -> int:
        """The TCP port the simulator listens on."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the simulator is not listening; call start() first")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def place_call(
        self,
        *,
        number: str,
        name: str,
        scenario: Scenario,
        agents: Sequence[str] | None = None,
    ) -> str:
        """Start one queue call in the background and return its Linkedid.

        "ringall" rings two agents and the first of `agents` (when given) answers.
        """
        if self._loop is None or self._closed:
            raise RuntimeError("the simulator is not running")
        if scenario not in self._plans:
            raise ValueError(f"unknown scenario {scenario!r}; use answered, abandon or ringall")
        _check_caller(number, name)
        chosen = None if agents is None else tuple(_AgentInterface.parse(a) for a in agents)
        if chosen == ():
            raise ValueError("agents must name at least one interface when given")
        return self._start_call(number, name, scenario, chosen)

    async def run_traffic(self) -> None:
        """Place calls as a Poisson process at `calls_per_minute` until cancelled (returns at once for 0)."""
        rate_per_s = self._settings.calls_per_minute / 60.0
        if rate_per_s <= 0:
            return
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self._rng.expovariate(rate_per_s)
            # Sleep towards an absolute schedule so a busy loop does not lower the rate.
            await asyncio.sleep(max(due - loop.time(), 0.0))
            if self._closed:
                return
            number, name = self._random_caller()
            await self.place_call(number=number, name=name, scenario=self._random_scenario())

    def on_frame_sent(self, callback: Callable[[str, AmiMessage | bytes, float], None]) -> None:
        """Call `callback(event name, raw frame, time.perf_counter())` for each event frame written."""
        self._frame_callbacks.append(callback)

    async def close(self) -> None:
        """Stop accepting, end the calls, send `Event: Shutdown` to the clients and close them."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        for task in self._call_tasks:
            task.cancel()
        await asyncio.gather(*self._call_tasks, return_exceptions=True)
        if self._protocol is not None:
            self._broadcast("Shutdown", self._protocol.shutdown, {})
        self._flush()
        for session in list(self._sessions):
            session.writer.close()
        for task in self._session_tasks:
            task.cancel()
        await asyncio.gather(*self._session_tasks, return_exceptions=True)
        if self._server is not None:
            try:
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            except TimeoutError:
                logger.warning("PBX simulator: the listening socket did not close within 2 s")
        logger.info("PBX simulator closed")

    # -- calls ------------------------------------------------------------------------------

    @property
    def _queue_name(self) -> str:
        return self._settings.queue

    def _random_caller(self) -> tuple[str, str]:
        if self._settings.caller_numbers:
            return self._rng.choice(self._settings.caller_numbers)
        number = "09" + "".join(self._rng.choice("0123456789") for _ in range(8))
        return number, self._rng.choice(_DEMO_NAMES)

    def _random_scenario(self) -> Scenario:
        draw = self._rng.random()
        if draw < self._settings.abandon_share:
            return "abandon"
        if draw < self._settings.abandon_share + self._settings.ringall_share:
            return "ringall"
        return "answered"

    def _start_call(
        self,
        number: str,
        name: str,
        scenario: str,
        agents: tuple[_AgentInterface, ...] | None,
        uids: tuple[str, str] | None = None,
        originate_action_id: str | None = None,
    ) -> str:
        assert self._loop is not None
        # An originated call (a campaign call) that reaches an agent rings them as on auto-answer;
        # one that finds nobody waits (and gives up) like any caller.
        outbound = originate_action_id is not None and scenario in self._outbound_plans
        plan = (self._outbound_plans if outbound else self._plans)[scenario]
        values = dict(self._blank_values)
        seq = self._next_channel_seq()
        values["c1"] = f"{plan.scenario.caller_prefix}-{seq};1"
        values["c2"] = f"{plan.scenario.caller_prefix}-{seq};2"
        values["c1_uid"], values["c2_uid"] = uids or (self._next_uid(), self._next_uid())
        values["c_num"] = number
        values["c_name"] = _c_escape(name) if name else "<unknown>"
        values["queue"] = self._queue_name
        values["bridge"] = str(uuid.uuid4())
        self._call_seq += 1
        values["orig_action_id"] = (
            f"hotline-sim-{self._call_seq}" if originate_action_id is None else originate_action_id
        )
        values["login_time"] = str(int(self._started_epoch))
        call = _Call(values["c1_uid"], plan, values, agents, self._loop.time())
        self._calls[call.linkedid] = call
        via_ivr = not outbound and self._rng.random() < self._settings.ivr_share
        task = asyncio.create_task(self._run_call(call, via_ivr), name=f"sim-call-{call.linkedid}")
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)
        return call.linkedid

    async def _run_call(self, call: _Call, via_ivr: bool = False) -> None:
        assert self._loop is not None
        loop = self._loop
        base = call.started
        try:
            if via_ivr:
                await self._walk_ivr(call)
                base = loop.time()
            for step in call.plan.steps:
                if step.gate:
                    await self._seat_agents(call)
                    # Re-anchor the clock: the caller may have waited for a free agent.
                    base = loop.time() - step.offset_s
                due = base + step.offset_s
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._play(call, step, due)
        except Exception:
            logger.exception("simulated call %s failed", call.linkedid)
        finally:
            self._end_call(call)

    async def _walk_ivr(self, call: _Call) -> None:
        """The caller goes through Hotline's IVR first (AGI on the ;2 leg, as the lab dialplan does)."""
        settings = self._settings
        try:
            variables = await walk_ivr(
                settings.ivr_host,
                settings.ivr_port,
                channel=call.values["c2"],
                unique_id=call.values["c2_uid"],
                linked_id=call.linkedid,
                caller_number=call.values["c_num"],
                caller_name=call.values["c_name"],
                extension="5551234",
                keys=self._rng.choice(_IVR_CHOICES),
            )
        except (OSError, TimeoutError) as exc:
            # Said when it goes away (the demo's first calls may come before Hotline listens).
            if self._ivr_reachable:
                logger.warning(
                    "the IVR at %s:%d is not reachable (%s); calls go straight to the queue",
                    settings.ivr_host,
                    settings.ivr_port,
                    exc,
                )
            self._ivr_reachable = False
            return
        if not self._ivr_reachable:
            logger.info(
                "the IVR at %s:%d answers; callers walk it again", settings.ivr_host, settings.ivr_port
            )
        self._ivr_reachable = True
        logger.debug("simulated call %s left the IVR with %s", call.linkedid, variables)

    async def _seat_agents(self, call: _Call) -> None:
        """Pick the agents that ring (waiting in queue when all are busy) and fill in their values."""
        sc = call.plan.scenario
        candidates = call.requested or self._agent_order
        seated = self._take_free(candidates, len(sc.groups), rotate=call.requested is None)
        if not seated and sc.wait_for_agent:
            seated = [await self._wait_for_agent(candidates)]
            others = [c for c in candidates if c is not seated[0]]
            seated += self._take_free(others, len(sc.groups) - 1, rotate=False)
        assert self._loop is not None
        call.agents_at = self._loop.time()
        values = call.values
        for group, agent in zip(sc.groups, seated, strict=False):
            call.agents[group] = agent
            call.held.add(group)
            seq = self._next_channel_seq()
            if agent.local:
                values[f"{group}1"] = f"{agent.interface}-{seq};1"
                values[f"{group}2"] = f"{agent.interface}-{seq};2"
                values[f"{group}1_uid"] = self._next_uid()
                values[f"{group}2_uid"] = self._next_uid()
            else:
                # A SIP phone is one channel; the frames of the second Local half are skipped.
                values[f"{group}1"] = f"{agent.interface}-{seq}"
                values[f"{group}1_uid"] = self._next_uid()
                call.absent.add(f"{group}2")
            values[f"{group}_member"] = agent.location
            values[f"{group}_device"] = agent.interface
            values[f"{group}_peer"] = agent.peer
            values[f"{group}_name"] = agent.name
            values[f"{group}_exten"] = agent.exten
            values[f"{group}_context"] = agent.context
        for group in sc.groups[len(seated) :]:
            call.absent.add(group)

    def _take_free(
        self, candidates: Sequence[_AgentInterface], count: int, *, rotate: bool
    ) -> list[_AgentInterface]:
        """Ring up to `count` free agents; rrmemory (`rotate`) starts after the last one offered."""
        taken: list[_AgentInterface] = []
        if self._agent_waiters:
            return taken  # callers already waiting come first
        start = self._rr_next if rotate else 0
        for k in range(len(candidates)):
            if len(taken) == count:
                break
            agent = candidates[(start + k) % len(candidates)]
            member = self._member(agent)
            if member.available:
                member.ring()
                taken.append(agent)
        if taken and rotate:
            self._rr_next = self._agent_index[taken[0].interface] + 1
        return taken

    async def _wait_for_agent(self, candidates: Sequence[_AgentInterface]) -> _AgentInterface:
        assert self._loop is not None
        future: asyncio.Future[str] = self._loop.create_future()
        waiter = (frozenset(a.interface for a in candidates), future)
        self._agent_waiters.append(waiter)
        try:
            interface = await future
        except asyncio.CancelledError:
            if waiter in self._agent_waiters:
                self._agent_waiters.remove(waiter)
            if future.done() and not future.cancelled():
                self._free_agent(future.result())
            raise
        return next(a for a in candidates if a.interface == interface)

    def _free_agent(self, interface: str) -> None:
        member = self._members[interface]
        member.idle()
        self._offer(member)

    def _offer(self, member: _Member) -> None:
        """Hand an available member straight to the caller who waited longest for them."""
        if not member.available:
            return
        interface = member.agent.interface
        for waiter in self._agent_waiters:
            wanted, future = waiter
            if interface in wanted and not future.done():
                self._agent_waiters.remove(waiter)
                member.ring()
                future.set_result(interface)
                return

    def _member(self, agent: _AgentInterface) -> _Member:
        member = self._members.get(agent.interface)
        if member is None:
            member = self._members[agent.interface] = _Member(agent)
        return member

    def _end_call(self, call: _Call) -> None:
        self._calls.pop(call.linkedid, None)
        if call in self._queue.waiting:
            self._queue.waiting.remove(call)
        for group in list(call.held):
            self._release(call, group)

    def _release(self, call: _Call, group: str) -> None:
        if group in call.held:
            call.held.discard(group)
            self._free_agent(call.agents[group].interface)

    def _next_channel_seq(self) -> str:
        seq = self._channel_seq
        self._channel_seq += 1
        return f"{seq:08x}"

    def _next_uid(self) -> str:
        seq = self._uid_seq
        self._uid_seq += 1
        return f"{int(time.time())}.{seq}"

    # -- rendering ---------------------------------------------------------------------------

    def _play(self, call: _Call, step: _Step, now: float) -> None:
        """Render one batch of a call's frames, due at `now`, and queue them for the subscribers.

        Timings use the simulated clock (when steps were due), so a late loop never shortens a ring.
        """
        self._refresh(call, now)
        values = call.values
        absent = call.absent
        names: list[str] = []
        chunks: list[bytes] = []
        for frame in step.frames:
            if frame.needs and not frame.needs.isdisjoint(absent):
                continue
            if frame.hook is not None:
                self._apply_hook(call, frame.hook, now)
                self._refresh(call, now)
            chunks.append((frame.template % values).encode())
            names.append(frame.name)
        call.progress = step.last_index
        if chunks:
            self._publish(names, chunks)

    def _apply_hook(self, call: _Call, hook: _Hook, now: float) -> None:
        queue = self._queue
        values = call.values
        if hook is _Hook.JOIN:
            queue.waiting.append(call)
            call.t_join = now
            values["join_position"] = str(len(queue.waiting))
            values["join_count"] = str(len(queue.waiting))
        elif hook is _Hook.CALLED:
            if call.t_called is None:
                call.t_called = now
        elif hook is _Hook.CONNECT:
            call.t_connect = now
            hold_s = self._fix_hold(call, now)
            values["ring_time_s"] = str(_whole_s(now - (call.t_called or now)))
            queue.record_hold(hold_s)
            if "a" in call.held:
                self._members[call.agents["a"].interface].connect()
        elif hook is _Hook.LEAVE or hook is _Hook.ABANDON:
            if call in queue.waiting:
                values["position"] = str(queue.waiting.index(call) + 1)
                if hook is _Hook.LEAVE:
                    queue.waiting.remove(call)
                    values["leave_count"] = str(len(queue.waiting))
            if hook is _Hook.ABANDON:
                queue.record_abandon(self._fix_hold(call, now))
        elif hook is _Hook.COMPLETE:
            talk_s = _whole_s(now - (call.t_connect or now))
            values["talk_time_s"] = str(talk_s)
            queue.record_completion(call.hold_s, talk_s)
            if "a" in call.agents:
                self._members[call.agents["a"].interface].complete(int(time.time()))
        elif hook is _Hook.RELEASE_A:
            self._release(call, "a")
        elif hook is _Hook.RELEASE_B:
            self._release(call, "b")

    @staticmethod
    def _fix_hold(call: _Call, now: float) -> int:
        if call.hold_s < 0:
            call.hold_s = _whole_s(now - (call.t_join or now))
            call.values["hold_s"] = str(call.hold_s)
            call.values["hold_ms"] = str(call.hold_s * 1000)
        return call.hold_s

    def _refresh(self, call: _Call, now: float) -> None:
        """Update the values that change while a call plays: queue and member counters, timers."""
        values = call.values
        queue = self._queue
        values["q_calls"] = str(len(queue.waiting))
        values["q_completed"] = str(queue.completed)
        values["q_abandoned"] = str(queue.abandoned)
        values["q_holdtime"] = str(queue.holdtime_s)
        values["q_talktime"] = str(queue.talktime_s)
        values["q_slperf"] = queue.service_level_perf()
        for group, agent in call.agents.items():
            member = self._members[agent.interface]
            values[f"{group}_calls"] = str(member.calls_taken)
            values[f"{group}_lastcall"] = str(member.last_call)
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

    # -- output --------------------------------------------------------------------------------

    def _publish(self, names: list[str], chunks: list[bytes]) -> None:
        blob = b"".join(chunks)
        delivered = False
        for session in self._sessions:
            if session.subscribed:
                session.pending.append(blob)
                delivered = True
        if delivered:
            if self._frame_callbacks:
                self._sent.extend(zip(names, chunks, strict=True))
            self._schedule_flush()

    def _broadcast(
        self, name: str, template: str, values: Mapping[str, str], exclude: _Session | None = None
    ) -> None:
        """Send one session-level event (security, Shutdown) to every subscribed client."""
        frame = (template % values).encode()
        delivered = False
        for session in self._sessions:
            if session.subscribed and session is not exclude:
                session.pending.append(frame)
                delivered = True
        if delivered:
            if self._frame_callbacks:
                self._sent.append((name, frame))
            self._schedule_flush()

    def _send(self, session: _Session, template: str, values: Mapping[str, str]) -> None:
        session.pending.append((template % values).encode())
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        # One write per client per loop iteration, whatever number of calls rendered frames.
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for session in list(self._sessions):
            if session.pending:
                self._write(session)
        if self._sent:
            sent, self._sent = self._sent, []
            now = time.perf_counter()
            for callback in self._frame_callbacks:
                try:
                    for name, frame in sent:
                        callback(name, frame, now)
                except Exception:
                    logger.exception("on_frame_sent callback %r failed", callback)

    def _write(self, session: _Session) -> None:
        data = b"".join(session.pending)
        session.pending.clear()
        transport = session.writer.transport
        if transport.is_closing():
            return
        transport.write(data)
        unsent = transport.get_write_buffer_size()
        if unsent > self._settings.client_buffer_bytes:
            # A client that stopped reading must not make the simulator buffer without end.
            logger.warning(
                "dropping AMI client %s: %d bytes unread (limit %d)",
                session.remote,
                unsent,
                self._settings.client_buffer_bytes,
            )
            self._sessions.pop(session, None)
            transport.abort()

    # -- AMI sessions --------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback, so the session task is ours to track and cancel: on Python 3.11 the
        # task start_server wraps around a coroutine callback cannot be cancelled cleanly.
        session = _Session(writer)
        self._sessions[session] = None  # registered now, so close() closes it even before it runs
        task = asyncio.create_task(self._serve(session, reader), name=f"sim-ami-{session.remote}")
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _serve(self, session: _Session, reader: asyncio.StreamReader) -> None:
        assert self._protocol is not None
        try:
            session.pending.append(self._protocol.banner)
            self._schedule_flush()
            await self._converse(session, reader)
        except ConnectionError as exc:
            logger.debug("AMI client %s went away: %s", session.remote, exc)
        except Exception:
            logger.exception("AMI session with %s failed", session.remote)
        finally:
            if session in self._sessions:
                del self._sessions[session]
                if session.pending:
                    self._write(session)  # the last answer: Goodbye, Authentication failed
            session.writer.close()

    async def _converse(self, session: _Session, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                block = await reader.readuntil(_TERMINATOR)
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError:
                logger.warning(
                    "closing AMI client %s: an action exceeds %d bytes", session.remote, _ACTION_LIMIT
                )
                return
            try:
                action = _Action.parse(block)
            except ValueError as exc:
                logger.warning("closing AMI client %s: %s", session.remote, exc)
                return
            if action is None:
                continue
            wire_logger.debug("%s -> %r", session.remote, action)
            if not await self._dispatch(session, action):
                return

    async def _dispatch(self, session: _Session, action: _Action) -> bool:
        """Answer one action; False closes the connection."""
        assert self._protocol is not None
        p = self._protocol
        reply = {"action_id_line": action.action_id_line}
        name = action.get("action")
        if not name:
            self._send(session, p.error, {**reply, "message": "Missing action in request"})
            return True
        verb = name.lower()
        if not session.logged_in and verb not in ("login", "challenge", "logoff"):
            self._send(session, p.permission_denied, reply)
            self._broadcast(
                "RequestNotAllowed", p.request_not_allowed, {**self._security_values(session), "action": name}
            )
            return True
        if verb == "login":
            return await self._login(session, action)
        if verb == "challenge":
            if action.get("authtype").lower() != "md5":
                self._send(session, p.error, {**reply, "message": "Must specify AuthType"})
                return True
            session.challenge = str(secrets.randbelow(2**31))
            self._send(session, p.challenge, {**reply, "challenge": session.challenge})
        elif verb == "ping":
            self._send(session, p.pong, {**reply, "timestamp": f"{time.time():.6f}"})
        elif verb == "logoff":
            self._send(session, p.goodbye, reply)
            return False
        elif verb == "events":
            session.events = action.get("eventmask").lower() != "off"
            self._send(session, p.events_on if session.events else p.events_off, reply)
        elif verb == "coreshowchannels":
            self._core_show_channels(session, action.action_id_line)
        elif verb == "queuestatus":
            self._queue_status(session, action)
        elif verb in ("queueadd", "queueremove", "queuepause"):
            self._queue_member_action(session, verb, action)
        elif verb == "originate":
            self._originate(session, action)
        elif verb == "hangup":
            self._hangup(session, action)
        else:
            self._send(session, p.unknown_command, {**reply, "action": name})
            self._broadcast(
                "RequestBadFormat", p.request_bad_format, {**self._security_values(session), "action": name}
            )
        return True

    def _originate(self, session: _Session, action: _Action) -> None:
        """Queue an asynchronous Originate to `Local/<number>@<context>` and play how it ends.

        Busy and unanswered dials get the recorded failure OriginateResponse (ami_d5, ami_d3).
        Answered dials run the answered queue call (or, with no agent free, the abandon call),
        with the caller's channels carrying the requested ChannelId and OtherChannelId.
        """
        assert self._protocol is not None
        p = self._protocol
        reply = {"action_id_line": action.action_id_line}
        channel = action.get("channel")
        if not channel:
            self._send(session, p.error, {**reply, "message": "Channel not specified"})
            return
        self._send(session, p.originate_queued, reply)
        task = asyncio.create_task(self._play_originate(session, action), name=f"sim-originate-{channel}")
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _play_originate(self, session: _Session, action: _Action) -> None:
        assert self._protocol is not None
        p = self._protocol
        s = self._settings
        channel = action.get("channel")
        number = channel.partition("/")[2].partition("@")[0] or "unknown"
        channel_id = action.get("channelid") or self._next_uid()
        other_id = action.get("otherchannelid") or self._next_uid()
        caller_num, _, caller_name = _split_caller_id(action.get("callerid"))
        values = {
            "action_id_line": action.action_id_line,
            "channel": channel,
            "context": action.get("context"),
            "exten": action.get("exten"),
            "uid": channel_id if action.get("channelid") else "<unknown>",
            "cid_num": caller_num,
            "cid_name": caller_name,
        }
        draw = self._rng.random()
        if draw < s.originate_answer_share:
            await asyncio.sleep(s.originate_ring_s)
            free = not self._agent_waiters and any(not m.busy for m in self._members.values())
            # The recorded queue calls were themselves originated by the lab: their own
            # OriginateResponse (Reason 4, Uniqueid = the first channel's id) answers this one.
            self._start_call(
                number if _CALLER_RE.match(number) else "unknown",
                "",
                "answered" if free else "abandon",
                None,
                (channel_id, other_id),
                action.fields.get("actionid", ""),
            )
            return
        if draw < s.originate_answer_share + s.originate_busy_share:
            await asyncio.sleep(s.originate_ring_s)
            self._send_event(session, "OriginateResponse", p.originate_busy, values)
            return
        await asyncio.sleep(s.originate_no_answer_s)
        self._send_event(session, "OriginateResponse", p.originate_no_answer, values)

    def _send_event(self, session: _Session, name: str, template: str, values: Mapping[str, str]) -> None:
        """An event that answers one session's action (OriginateResponse goes to its sender only)."""
        if session in self._sessions and session.subscribed:
            frame = (template % values).encode()
            session.pending.append(frame)
            if self._frame_callbacks:
                self._sent.append((name, frame))
            self._schedule_flush()

    def _hangup(self, session: _Session, action: _Action) -> None:
        """Hangup of a known call's channel is acknowledged; the call plays on to its recorded end."""
        assert self._protocol is not None
        p = self._protocol
        reply = {"action_id_line": action.action_id_line}
        wanted = action.get("channel")
        known = any(wanted in (c.values.get("c1"), c.values.get("c2")) for c in self._calls.values())
        if known:
            self._send(session, p.channel_hungup, reply)
        else:
            self._send(session, p.error, {**reply, "message": "No such channel"})

    async def _login(self, session: _Session, action: _Action) -> bool:
        assert self._protocol is not None
        p = self._protocol
        s = self._settings
        username = action.get("username")
        if action.get("authtype").lower() == "md5":
            digest = hashlib.md5(((session.challenge or "") + s.secret).encode(), usedforsecurity=False)
            good = session.challenge is not None and hmac.compare_digest(
                action.get("key").lower().encode(), digest.hexdigest().encode()
            )
        else:
            good = hmac.compare_digest(action.get("secret").encode(), s.secret.encode())
        good = hmac.compare_digest(username.encode(), s.username.encode()) and good
        reply = {"action_id_line": action.action_id_line}
        if not good:
            logger.warning("AMI client %s failed to log in as %r", session.remote, username)
            self._broadcast(
                "InvalidPassword",
                p.invalid_password,
                {**self._security_values(session), "account": username},
                exclude=session,
            )
            # Like Asterisk: slow down guessing, answer, then hang up.
            await asyncio.sleep(s.auth_failure_delay_s)
            self._send(session, p.auth_failed, reply)
            return False
        session.logged_in = True
        session.username = username
        session.session_tv = _tv(time.time())
        session.events = action.get("events").lower() != "off"
        self._send(session, p.login_ok, reply)
        if session.events:
            uptime = str(int(time.time() - self._started_epoch))
            self._send(session, p.fully_booted, {"uptime": uptime})
        self._broadcast("SuccessfulAuth", p.successful_auth, self._security_values(session))
        return True

    def _security_values(self, session: _Session) -> dict[str, str]:
        return {
            "event_tv": _tv(time.time()),
            "account": session.username,
            "session_id": session.session_id,
            "local_address": session.local,
            "remote_address": session.remote,
            "session_tv": session.session_tv,
        }

    def _core_show_channels(self, session: _Session, action_id_line: str) -> None:
        assert self._protocol is not None
        assert self._loop is not None
        p = self._protocol
        now = self._loop.time()
        items: list[str] = []
        for call in reversed(self._calls.values()):
            if call.progress < 0:
                continue
            values: dict[str, str] | None = None
            for item in call.plan.scenario.channels_after[call.progress]:
                if item.needs and not item.needs.isdisjoint(call.absent):
                    continue
                if values is None:
                    values = dict(call.values)
                    values["action_id_line"] = action_id_line
                    values["dur_c"] = _hms(now - call.started)
                    values["dur_a"] = values["dur_b"] = _hms(now - (call.agents_at or now))
                items.append(item.template % values)
        reply = {"action_id_line": action_id_line}
        self._send(session, p.channels_start, reply)
        for item_text in items:
            session.pending.append(item_text.encode())
        self._send(session, p.channels_complete, {**reply, "list_items": str(len(items))})

    def _queue_member_action(self, session: _Session, verb: str, action: _Action) -> None:
        """QueueAdd, QueueRemove and QueuePause of a configured agent, answered as ami_f shows."""
        assert self._protocol is not None
        p = self._protocol
        reply = {"action_id_line": action.action_id_line}
        queue = action.get("queue")
        raw = action.get("interface")
        member = next(
            (m for m in self._members.values() if raw and raw in (m.agent.location, m.agent.interface)), None
        )
        if queue and queue != self._queue_name:
            if verb == "queuepause":
                self._send(session, p.pause_not_found, reply)
            else:
                doing = "add interface to" if verb == "queueadd" else "remove interface from"
                self._send(session, p.error, {**reply, "message": f"Unable to {doing} queue: No such queue"})
            return
        if verb == "queueadd":
            if member is None:
                message = "Unable to add interface to queue: the simulator knows only its configured agents"
                self._send(session, p.error, {**reply, "message": message})
            elif member.in_queue:
                self._send(session, p.already_there, reply)
            else:
                member.in_queue, member.dynamic = True, True
                member.paused = action.get("paused").lower() == "true"
                member.reason = ""
                penalty = action.get("penalty")
                member.penalty = int(penalty) if penalty.isdigit() else 0
                self._send(session, p.queue_add_ok, reply)
                self._broadcast("QueueMemberAdded", p.member_added, self._member_values(member))
                self._offer(member)
        elif member is None or not member.in_queue:
            self._send(session, p.remove_not_there if verb == "queueremove" else p.pause_not_found, reply)
        elif verb == "queueremove":
            member.in_queue = False
            self._send(session, p.remove_ok, reply)
            self._broadcast("QueueMemberRemoved", p.member_removed, self._member_values(member))
        else:
            member.paused = action.get("paused").lower() == "true"
            member.reason = action.get("reason") if member.paused else ""
            if member.paused:
                member.last_pause = int(time.time())
            self._send(session, p.pause_ok if member.paused else p.unpause_ok, reply)
            self._broadcast("QueueMemberPause", p.member_pause, self._member_values(member))
            self._offer(member)

    def _member_values(self, member: _Member) -> dict[str, str]:
        a = member.agent
        return {
            "queue": self._queue_name,
            "name": a.name,
            "location": a.location,
            "membership": "dynamic" if member.dynamic else "static",
            "penalty": str(member.penalty),
            "calls_taken": str(member.calls_taken),
            "last_call": str(member.last_call),
            "last_pause": str(member.last_pause),
            "login_time": str(int(self._started_epoch)),
            "in_call": str(member.in_call),
            "status": str(member.status),
            "paused": "1" if member.paused else "0",
            "paused_reason": _c_escape(member.reason),
        }

    def _queue_status(self, session: _Session, action: _Action) -> None:
        assert self._protocol is not None
        assert self._loop is not None
        p = self._protocol
        reply = {"action_id_line": action.action_id_line}
        wanted_queue = action.get("queue")
        wanted_member = action.get("member")
        items: list[str] = []
        if not wanted_queue or wanted_queue == self._queue_name:
            q = self._queue
            items.append(
                p.queue_params
                % {
                    **reply,
                    "queue": self._queue_name,
                    "calls": str(len(q.waiting)),
                    "holdtime": str(q.holdtime_s),
                    "talktime": str(q.talktime_s),
                    "completed": str(q.completed),
                    "abandoned": str(q.abandoned),
                    "sl_perf": q.service_level_perf(),
                    "sl_perf2": q.service_level_perf2(),
                }
            )
            for interface in self._agents:
                m = self._members[interface]
                a = m.agent
                if not m.in_queue or (
                    wanted_member and wanted_member not in (a.location, a.name, a.interface)
                ):
                    continue
                items.append(p.queue_member % {**reply, **self._member_values(m)})
            now = self._loop.time()
            for position, call in enumerate(q.waiting, start=1):
                items.append(
                    p.queue_entry
                    % {
                        **call.values,
                        **reply,
                        "position": str(position),
                        "wait": str(int(now - (call.t_join or now))),
                    }
                )
        self._send(session, p.queue_status_start, reply)
        for item_text in items:
            session.pending.append(item_text.encode())
        self._send(session, p.queue_status_complete, {**reply, "list_items": str(len(items))})


# -- runtime state ---------------------------------------------------------------------------


class _Hook(enum.Enum):
    """A state change the simulator applies right before rendering a frame."""

    JOIN = "QueueCallerJoin"
    CALLED = "AgentCalled"
    CONNECT = "AgentConnect"
    LEAVE = "QueueCallerLeave"
    ABANDON = "QueueCallerAbandon"
    COMPLETE = "AgentComplete"
    RELEASE_A = "Hangup a1"
    RELEASE_B = "Hangup b1"


@dataclass(frozen=True, slots=True)
class _AgentInterface:
    """A queue member as the recordings show it: Local members carry the `/n` option."""

    interface: str  # as configured: Local/1001@agents, PJSIP/1001
    location: str  # the member interface app_queue reports (Interface, MEMBERINTERFACE)
    peer: str  # DIALEDPEERNUMBER
    exten: str
    context: str
    name: str  # MemberName
    local: bool

    @classmethod
    def parse(cls, text: str) -> _AgentInterface:
        if _bad_text(text) or " " in text or len(text) > _MAX_VALUE_CHARS:
            raise ValueError(f"agent interface {text!r} must be a short dial string without spaces")
        tech, sep, resource = text.partition("/")
        if not sep or not tech or not resource:
            raise ValueError(f"agent interface {text!r} must look like Local/1001@agents or PJSIP/1001")
        if tech.lower() == "local":
            resource = resource.removesuffix("/n")
            exten, at, context = resource.partition("@")
            if not at or not exten or not context or "/" in context:
                raise ValueError(f"Local agent interface {text!r} must look like Local/1001@agents")
            interface = f"{tech}/{resource}"
            return cls(interface, f"{interface}/n", f"{resource}/n", exten, context, f"Agent {exten}", True)
        # Non-Local channels keep the recorded dialplan context of the agent leg.
        return cls(text, text, resource, resource, "agents", f"Agent {resource}", False)


@dataclass(eq=False, slots=True)
class _Member:
    """One queue member's state, in app_queue's numbers (Status 1 NOT_INUSE, 2 INUSE)."""

    agent: _AgentInterface
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
        self.busy, self.in_call, self.status = True, 0, 2

    def connect(self) -> None:
        self.in_call = 1

    def complete(self, epoch: int) -> None:
        self.calls_taken += 1
        self.last_call = epoch

    def idle(self) -> None:
        self.busy, self.in_call, self.status = False, 0, 1


@dataclass(eq=False, slots=True)
class _QueueStats:
    """The queue counters app_queue reports in QueueParams and the QUEUE* variables."""

    waiting: list[_Call] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    holdtime_s: int = 0
    talktime_s: int = 0

    def record_hold(self, hold_s: int) -> None:
        # app_queue keeps exponentially weighted averages: (3 * old + new) / 4.
        self.holdtime_s = (3 * self.holdtime_s + hold_s) >> 2

    def record_completion(self, hold_s: int, talk_s: int) -> None:
        self.completed += 1
        self.completed_in_sl += hold_s <= _SERVICE_LEVEL_S
        self.talktime_s = (3 * self.talktime_s + talk_s) >> 2

    def record_abandon(self, hold_s: int) -> None:
        self.abandoned += 1
        self.abandoned_in_sl += hold_s <= _SERVICE_LEVEL_S

    def service_level_perf(self) -> str:
        return f"{100.0 * self.completed_in_sl / self.completed:.1f}" if self.completed else "0.0"

    def service_level_perf2(self) -> str:
        total = self.completed + self.abandoned
        return f"{100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total:.1f}" if total else "0.0"


@dataclass(eq=False, slots=True)
class _Call:
    """One call in progress: its rendering values and where it stands in its plan."""

    linkedid: str
    plan: _Plan
    values: dict[str, str]
    requested: tuple[_AgentInterface, ...] | None
    started: float
    agents: dict[str, _AgentInterface] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    agents_at: float | None = None
    t_join: float | None = None
    t_called: float | None = None
    t_connect: float | None = None
    hold_s: int = -1
    progress: int = -1


class _Session:
    """One AMI connection: login state and the bytes waiting for the next flush."""

    __slots__ = (
        "challenge",
        "events",
        "local",
        "logged_in",
        "pending",
        "remote",
        "session_id",
        "session_tv",
        "username",
        "writer",
    )

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.local = _address(writer.get_extra_info("sockname"))
        self.remote = _address(writer.get_extra_info("peername"))
        self.session_id = f"0x7f{secrets.randbits(40):010x}"
        self.session_tv = _UNAUTHENTICATED_TV
        self.username = ""
        self.logged_in = False
        self.events = True
        self.challenge: str | None = None
        self.pending: list[bytes] = []

    @property
    def subscribed(self) -> bool:
        return self.logged_in and self.events


class _Action:
    """An action from a client: header lookups are case-insensitive, as in Asterisk."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    @classmethod
    def parse(cls, block: bytes) -> _Action | None:
        """Parse one block ending in an empty line; None for a block of blank lines only."""
        fields: dict[str, str] = {}
        count = 0
        for raw in block.split(b"\r\n"):
            if not raw:
                continue
            if len(raw) > MAX_ACTION_LINE_BYTES:
                raise ValueError(f"an action line exceeds {MAX_ACTION_LINE_BYTES} bytes")
            line = raw.decode("utf-8", "replace")
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or not key or "\r" in line or "\n" in line:
                raise ValueError(f"malformed action line {line[:80]!r}")
            count += 1
            fields.setdefault(key.lower(), value.strip())
        if count > MAX_ACTION_HEADERS:
            raise ValueError(f"an action has more than {MAX_ACTION_HEADERS} headers")
        return cls(fields) if fields else None

    def get(self, key: str) -> str:
        return self.fields.get(key, "")

    @property
    def action_id_line(self) -> str:
        action_id = self.fields.get("actionid")
        return f"ActionID: {action_id}\r\n" if action_id else ""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in ("secret", "key") else v) for k, v in self.fields.items()}
        return f"_Action({shown})"


# -- compiled recordings ---------------------------------------------------------------------

_HOLE_RE = re.compile(r"%\((\w+)\)s")
# Agent holes are a1, a2, a1_uid, a2_uid, a_<what> (and b...): a frame using one needs that agent.
_AGENT_HOLE_RE = re.compile(r"([ab])([12_])")
_BLOCK_PREFIXES = ("", "Dest", "LocalOne", "LocalTwo")
_SNAPSHOT_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
_ROLE_ORDER = ("c2", "c1", "a2", "a1", "b2", "b1")  # CoreShowChannels order seen in ami_e
_EVENT_HOLES = {
    ("AgentConnect", "HoldTime"): "hold_s",
    ("AgentConnect", "RingTime"): "ring_time_s",
    ("AgentComplete", "HoldTime"): "hold_s",
    ("AgentComplete", "TalkTime"): "talk_time_s",
    ("QueueCallerAbandon", "HoldTime"): "hold_s",
    ("QueueCallerAbandon", "Position"): "position",
    ("QueueCallerAbandon", "OriginalPosition"): "join_position",
    ("QueueCallerJoin", "Position"): "join_position",
    ("QueueCallerJoin", "Count"): "join_count",
    ("QueueCallerLeave", "Position"): "position",
    ("QueueCallerLeave", "Count"): "leave_count",
}
_VARSET_HOLES = {
    "QEHOLDTIME": "hold_s",
    "QEORIGINALPOS": "join_position",
    "QUEUEPOSITION": "position",
    "QUEUEWAIT": "hold_s",
    "QUEUEWAIT_MS": "hold_ms",
    "ANSWEREDTIME": "answered_s",
    "ANSWEREDTIME_MS": "answered_ms",
    "DIALEDTIME": "dialed_s",
    "DIALEDTIME_MS": "dialed_ms",
    "QUEUECALLS": "q_calls",
    "QUEUEHOLDTIME": "q_holdtime",
    "QUEUETALKTIME": "q_talktime",
    "QUEUECOMPLETED": "q_completed",
    "QUEUEABANDONED": "q_abandoned",
    "QUEUESRVLEVELPERF": "q_slperf",
    "MEMBERCALLS": "a_calls",
    "MEMBERLASTCALL": "a_lastcall",
    "QUEUENAME": "queue",
    "QUEUE_NAME": "queue",
}
_FRAME_HOOKS = {
    "QueueCallerJoin": _Hook.JOIN,
    "AgentConnect": _Hook.CONNECT,
    "QueueCallerLeave": _Hook.LEAVE,
    "QueueCallerAbandon": _Hook.ABANDON,
    "AgentComplete": _Hook.COMPLETE,
}


@dataclass(frozen=True, slots=True)
class _ScenarioSpec:
    """Where a call scenario lives in its recording; seq numbers are the transcript's own."""

    file: str
    caller: str  # the caller's Local channel without ;1/;2
    agents: tuple[str, ...]  # the agents' Local channels, the one who answers first
    ring: tuple[int, int]  # (AgentCalled seq, seq of the frame that ends the ringing)
    talk: tuple[int, int] | None  # (AgentConnect seq, seq of the frame that ends the talk)
    wait_for_agent: bool  # False: the caller gives up rather than wait for a free agent


_SPECS: dict[str, _ScenarioSpec] = {
    # The agent's Answer() ends the ring; the agent's Hangup() ends the talk.
    "answered": _ScenarioSpec(
        "ami_b_inbound_answered.txt",
        "Local/5551234@from-pstn-00000000",
        ("Local/1001@agents-00000001",),
        ring=(49, 52),
        talk=(101, 115),
        wait_for_agent=True,
    ),
    # The caller's Hangup() ends the ring.
    "abandon": _ScenarioSpec(
        "ami_c_abandon.txt",
        "Local/5551235@from-pstn-00000000",
        ("Local/1003@agents-00000001",),
        ring=(51, 61),
        talk=None,
        wait_for_agent=False,
    ),
    "ringall": _ScenarioSpec(
        "ami_i_ringall.txt",
        "Local/5551300@from-pstn-00000000",
        ("Local/2001@agents-00000001", "Local/2002@agents-00000002"),
        ring=(55, 80),
        talk=(138, 145),
        wait_for_agent=True,
    ),
}


@dataclass(frozen=True, slots=True)
class _Frame:
    """One recorded event frame compiled into a %-template."""

    index: int
    seq: int  # the record it was compiled from, to trace a frame back to the transcript
    t: float
    name: str
    template: str
    needs: frozenset[str]
    hook: _Hook | None


@dataclass(frozen=True, slots=True)
class _ChannelItem:
    """A CoreShowChannel item template for one channel of a call at one point of its plan."""

    template: str
    needs: frozenset[str]


@dataclass(frozen=True, slots=True)
class _CompiledScenario:
    """A call scenario compiled from its recording: frames, where agents get seated, channel lists."""

    frames: tuple[_Frame, ...]
    groups: tuple[str, ...]
    caller_prefix: str
    gate_index: int
    ring: tuple[int, int]
    talk: tuple[int, int] | None
    wait_for_agent: bool
    channels_after: tuple[tuple[_ChannelItem, ...], ...]
    holes: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Step:
    """Frames written together, `offset_s` after the call started (or after the agents got seated)."""

    offset_s: float
    gate: bool
    frames: tuple[_Frame, ...]
    last_index: int


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled scenario laid out on this simulator's clock."""

    scenario: _CompiledScenario
    steps: tuple[_Step, ...]

    @classmethod
    def build(cls, scenario: _CompiledScenario, settings: SimulatorSettings) -> _Plan:
        """Place every frame on the clock: recorded gaps times `time_scale`, except inside the
        ring and talk phases, whose frames are spread over exactly `ring_s` and `talk_s`."""
        frames = scenario.frames
        phases = [(scenario.ring, settings.ring_s)]
        if scenario.talk is not None:
            phases.append((scenario.talk, settings.talk_s))
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
                offset = offsets[-1] + max(frame.t - frames[i - 1].t, 0.0) * settings.time_scale
            offsets.append(max(offset, offsets[-1]) if offsets else offset)
        steps: list[_Step] = []
        batch: list[_Frame] = []
        for frame in scenario.frames:
            offset = offsets[frame.index]
            starts_gate = frame.index == scenario.gate_index
            if batch and (starts_gate or offset - offsets[batch[0].index] > _BATCH_WINDOW_S):
                first = batch[0].index
                steps.append(
                    _Step(offsets[first], first == scenario.gate_index, tuple(batch), batch[-1].index)
                )
                batch = []
            batch.append(frame)
        first = batch[0].index
        steps.append(_Step(offsets[first], first == scenario.gate_index, tuple(batch), batch[-1].index))
        return cls(scenario, tuple(steps))


@dataclass(frozen=True, slots=True)
class _ProtocolTemplates:
    """Session-level frames (login, errors, list actions), each from its recording."""

    banner: bytes
    login_ok: str
    fully_booted: str
    successful_auth: str
    challenge: str
    invalid_password: str
    auth_failed: str
    permission_denied: str
    error: str
    request_not_allowed: str
    pong: str
    goodbye: str
    unknown_command: str
    request_bad_format: str
    events_off: str
    events_on: str
    queue_status_start: str
    queue_params: str
    queue_member: str
    queue_entry: str
    queue_status_complete: str
    channels_start: str
    channels_complete: str
    shutdown: str
    queue_add_ok: str
    already_there: str
    member_added: str
    pause_ok: str
    unpause_ok: str
    member_pause: str
    remove_ok: str
    remove_not_there: str
    member_removed: str
    pause_not_found: str
    originate_queued: str
    originate_busy: str
    originate_no_answer: str
    channel_hungup: str


# A queue member's state, as both QueueMember (list reply) and the QueueMember* events carry it.
_MEMBER_STATE_HOLES: dict[str, str | tuple[str, str]] = {
    "Queue": "queue",
    "StateInterface": "location",
    "Membership": "membership",
    "Penalty": "penalty",
    "CallsTaken": "calls_taken",
    "LastCall": "last_call",
    "LastPause": "last_pause",
    "LoginTime": "login_time",
    "InCall": "in_call",
    "Status": "status",
    "Paused": "paused",
    "PausedReason": "paused_reason",
}
# The events name the member MemberName/Interface; the QueueStatus list names it Name/Location.
_MEMBER_EVENT_HOLES: dict[str, str | tuple[str, str]] = {
    **_MEMBER_STATE_HOLES,
    "MemberName": "name",
    "Interface": "location",
}

_SECURITY_HOLES: dict[str, str | tuple[str, str]] = {
    "EventTV": "event_tv",
    "AccountID": "account",
    "SessionID": "session_id",
    "LocalAddress": "local_address",
    "RemoteAddress": "remote_address",
    "SessionTV": "session_tv",
}


_ORIGINATE_HOLES: dict[str, str | tuple[str, str]] = {
    "Channel": "channel",
    "Context": "context",
    "Exten": "exten",
    "Uniqueid": "uid",
    "CallerIDNum": "cid_num",
    "CallerIDName": "cid_name",
}
_CALLER_RE = re.compile(r"^\+?[0-9]{2,20}$")


def _split_caller_id(raw: str) -> tuple[str, str, str]:
    """(number, '', name) of `"Name" <number>`; `<unknown>` for what is missing, as Asterisk writes."""
    match = re.fullmatch(r'\s*(?:"([^"]*)"\s*)?<([^>]*)>\s*', raw)
    if match is None:
        return (raw.strip() or "<unknown>", "", "<unknown>")
    return (match.group(2) or "<unknown>", "", match.group(1) or "<unknown>")


@functools.cache
def _protocol_templates() -> _ProtocolTemplates:
    a = _read_transcript("ami_a_login.txt")
    h = _read_transcript("ami_h_misc_actions.txt")
    e = _read_transcript("ami_e_list_actions.txt")
    k = _read_transcript("ami_k_restart.txt")
    f = _read_transcript("ami_f_queue_member_admin.txt")
    d5 = _read_transcript("ami_d5_originate_channelid.txt")
    d3 = _read_transcript("ami_d3_originate_noanswer.txt")
    if a[1].data != b"Asterisk Call Manager/11.0.0\r\n":
        raise _RecordingError("ami_a_login.txt record 1 is not the AMI banner")
    list_complete: dict[str, str | tuple[str, str]] = {"ListItems": "list_items"}
    return _ProtocolTemplates(
        banner=a[1].data,
        login_ok=_session_template(a[3], {}),
        fully_booted=_session_template(a[4], {"Uptime": "uptime", "LastReload": "uptime"}),
        successful_auth=_session_template(a[5], _SECURITY_HOLES),
        challenge=_session_template(a[19], {"Challenge": "challenge"}),
        invalid_password=_session_template(a[31], _SECURITY_HOLES),
        auth_failed=_session_template(a[32], {}),
        permission_denied=_session_template(a[37], {}),
        error=_session_template(a[37], {"Message": "message"}),
        request_not_allowed=_session_template(a[38], {**_SECURITY_HOLES, "RequestType": ("Ping", "action")}),
        pong=_session_template(a[13], {"Timestamp": "timestamp"}),
        goodbye=_session_template(a[15], {}),
        unknown_command=_session_template(h[27], {"Message": ("NoSuchAction", "action")}),
        request_bad_format=_session_template(
            h[29], {**_SECURITY_HOLES, "RequestType": ("NoSuchAction", "action")}
        ),
        events_off=_session_template(h[32], {}),
        events_on=_session_template(h[36], {}),
        queue_status_start=_session_template(e[176], {}),
        queue_params=_session_template(
            e[177],
            {
                "Queue": "queue",
                "Calls": "calls",
                "Holdtime": "holdtime",
                "TalkTime": "talktime",
                "Completed": "completed",
                "Abandoned": "abandoned",
                "ServicelevelPerf": "sl_perf",
                "ServicelevelPerf2": "sl_perf2",
            },
        ),
        queue_member=_session_template(
            e[178],
            {**_MEMBER_STATE_HOLES, "Name": "name", "Location": "location"},
        ),
        queue_entry=_session_template(
            e[185],
            {
                "Queue": "queue",
                "Position": "position",
                "Channel": "c2",
                "Uniqueid": "c2_uid",
                "CallerIDNum": "c_num",
                "CallerIDName": "c_name",
                "ConnectedLineNum": "c_num",
                "ConnectedLineName": "c_name",
                "Wait": "wait",
            },
        ),
        queue_status_complete=_session_template(e[188], list_complete),
        channels_start=_session_template(e[215], {}),
        channels_complete=_session_template(e[224], list_complete),
        shutdown=_session_template(k[169], {}),
        queue_add_ok=_session_template(f[7], {}),
        already_there=_session_template(f[12], {}),
        member_added=_session_template(f[9], _MEMBER_EVENT_HOLES),
        pause_ok=_session_template(f[14], {}),
        unpause_ok=_session_template(f[23], {}),
        member_pause=_session_template(f[16], _MEMBER_EVENT_HOLES),
        remove_ok=_session_template(f[34], {}),
        remove_not_there=_session_template(f[37], {}),
        member_removed=_session_template(f[35], _MEMBER_EVENT_HOLES),
        pause_not_found=_session_template(f[39], {}),
        originate_queued=_session_template(d5[7], {}),
        originate_busy=_session_template(d5[53], _ORIGINATE_HOLES),
        originate_no_answer=_session_template(d3[25], _ORIGINATE_HOLES),
        channel_hungup=_session_template(e[244], {}),
    )


@functools.cache
def _scenarios() -> dict[str, _CompiledScenario]:
    item_record = _read_transcript("ami_e_list_actions.txt")[216]
    item_keys = tuple(key for key, _ in _split_frame(item_record.data))
    return {name: _compile_scenario(spec, item_keys) for name, spec in _SPECS.items()}


class _RecordingError(RuntimeError):
    """A packaged recording is not what the simulator was written against."""


@dataclass(frozen=True, slots=True)
class _Record:
    seq: int
    direction: str
    conn: int
    t: float
    data: bytes


def _read_transcript(name: str) -> dict[int, _Record]:
    """The records of a packaged labrec v1 transcript, by seq."""
    data = resources.files("cti.scenarios").joinpath(name).read_bytes()
    out: dict[int, _Record] = {}
    i = 0
    while data.startswith(b"#", i):
        i = data.index(b"\n", i) + 1
    while i < len(data):
        j = data.index(b"\n", i)
        _, seq, direction, conn, t, length = data[i:j].decode("ascii").split(" ")
        n = int(length.removeprefix("len="))
        record = _Record(
            int(seq),
            direction,
            int(conn.removeprefix("conn=")),
            float(t.removeprefix("t=")),
            data[j + 1 : j + 1 + n],
        )
        out[record.seq] = record
        i = j + 1 + n + 1
    return out


def _split_frame(raw: bytes) -> list[tuple[str, str]]:
    text = raw.decode("utf-8")
    if not text.endswith("\r\n\r\n"):
        raise _RecordingError(f"recorded frame does not end in an empty line: {text[:60]!r}")
    pairs: list[tuple[str, str]] = []
    for line in text[:-4].split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            raise _RecordingError(f"recorded header line without ': ': {line!r}")
        pairs.append((key, value))
    return pairs


def _hole(name: str) -> str:
    return f"%({name})s"


def _literal(text: str) -> str:
    return text.replace("%", "%%")


def _session_template(record: _Record, holes: Mapping[str, str | tuple[str, str]]) -> str:
    """Compile a session-level frame; `holes` maps a header to a hole, or (recorded part, hole)."""
    lines: list[str] = []
    used: set[str] = set()
    for key, value in _split_frame(record.data):
        hole = holes.get(key)
        if key == "ActionID":
            # The line goes away when the action carried no ActionID, as Asterisk does.
            lines.append(_hole("action_id_line"))
            continue
        if hole is None:
            text = _literal(value)
        elif isinstance(hole, str):
            text = _hole(hole)
        else:
            part, name = hole
            if part not in value:
                raise _RecordingError(f"record {record.seq}: {key} has no {part!r}")
            text = _literal(value).replace(part, _hole(name))
        used.add(key)
        lines.append(f"{_literal(key)}: {text}\r\n")
    missing = set(holes) - used
    if missing:
        raise _RecordingError(f"record {record.seq} lacks headers {sorted(missing)}")
    return "".join(lines) + "\r\n"


@dataclass(frozen=True, slots=True)
class _Identity:
    """The identifying values of one recorded call, and the holes they become."""

    channels: dict[str, str]  # recorded channel name -> role (c1, a2...)
    uids: dict[str, str]  # recorded Uniqueid -> hole
    tokens: tuple[tuple[str, str], ...]  # recorded text -> hole, longest first
    queue: str
    agent_extens: dict[str, str]  # group -> recorded exten
    agent_contexts: dict[str, str]  # group -> recorded context
    agent_locations: dict[str, str]  # recorded member interface -> group


def _identity(spec: _ScenarioSpec, events: list[tuple[_Record, list[tuple[str, str]]]]) -> _Identity:
    channels = {f"{spec.caller};1": "c1", f"{spec.caller};2": "c2"}
    extens: dict[str, str] = {}
    contexts: dict[str, str] = {}
    locations: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for group, prefix in zip("ab", spec.agents, strict=False):
        channels[f"{prefix};1"] = f"{group}1"
        channels[f"{prefix};2"] = f"{group}2"
        interface = prefix.rsplit("-", 1)[0]
        agent = _AgentInterface.parse(interface)
        extens[group] = agent.exten
        contexts[group] = agent.context
        locations[agent.location] = group
        tokens[agent.location] = f"{group}_member"
        tokens[agent.interface] = f"{group}_device"
        tokens[agent.peer] = f"{group}_peer"
        tokens[agent.name] = f"{group}_name"
    uids: dict[str, str] = {}
    queue = caller_num = caller_name = ""
    for _, headers in events:
        fields = dict(headers)
        event = fields["Event"]
        if event == "Newchannel" and fields["Channel"] in channels:
            uids[fields["Uniqueid"]] = channels[fields["Channel"]] + "_uid"
        elif event == "NewCallerid" and fields["Channel"] == f"{spec.caller};1":
            caller_num, caller_name = fields["CallerIDNum"], fields["CallerIDName"]
        elif event == "QueueCallerJoin":
            queue = fields["Queue"]
    if not (queue and caller_num and caller_name) or len(uids) != len(channels):
        raise _RecordingError(f"{spec.file}: cannot find the call's caller, queue and channels")
    for name, role in channels.items():
        tokens[name] = role
    tokens[caller_num] = "c_num"
    tokens[caller_name] = "c_name"
    ordered = tuple(sorted(tokens.items(), key=lambda item: -len(item[0])))
    return _Identity(channels, uids, ordered, queue, extens, contexts, locations)


def _compile_scenario(spec: _ScenarioSpec, item_keys: tuple[str, ...]) -> _CompiledScenario:
    records = _read_transcript(spec.file)
    events = [
        (r, _split_frame(r.data))
        for r in records.values()
        if r.direction == "ASTERISK->CLIENT" and r.conn == 1 and r.data.startswith(b"Event: ")
    ]
    # Login events belong to the session, not to the call.
    events = [(r, h) for r, h in events if h[0][1] not in ("FullyBooted", "SuccessfulAuth")]
    ident = _identity(spec, events)
    frames: list[_Frame] = []
    compiled_headers: list[tuple[str, list[tuple[str, str]]]] = []
    index_of: dict[int, int] = {}
    called_seen = False
    for record, headers in events:
        if _about_other_queue(headers, ident.queue):
            continue  # the lab agents sat in other queues too; this simulator has one queue
        event = headers[0][1]
        compiled = _compile_headers(event, headers, ident)
        template = "".join(f"{k}: {v}\r\n" for k, v in compiled) + "\r\n"
        holes = set(_HOLE_RE.findall(template))
        needs: set[str] = set()
        for hole in holes:
            match = _AGENT_HOLE_RE.match(hole)
            if match:
                needs.add(match[1])
                if match[2] == "2":
                    needs.add(match[1] + "2")
        fields = dict(compiled)
        hook = _FRAME_HOOKS.get(event)
        if event == "AgentCalled" and not called_seen and fields.get("DestChannel") == _hole("a1"):
            hook, called_seen = _Hook.CALLED, True
        elif event == "Hangup" and fields.get("Channel") in (_hole("a1"), _hole("b1")):
            hook = _Hook.RELEASE_A if fields["Channel"] == _hole("a1") else _Hook.RELEASE_B
        index_of[record.seq] = len(frames)
        frames.append(_Frame(len(frames), record.seq, record.t, event, template, frozenset(needs), hook))
        compiled_headers.append((event, compiled))
    ring = (_index(index_of, spec.ring[0]), _index(index_of, spec.ring[1]))
    talk = None if spec.talk is None else (_index(index_of, spec.talk[0]), _index(index_of, spec.talk[1]))
    if frames[ring[0]].name != "AgentCalled" or (talk is not None and frames[talk[0]].name != "AgentConnect"):
        raise _RecordingError(f"{spec.file}: ring/talk anchors are not AgentCalled/AgentConnect")
    gate_index = next(f.index for f in frames if f.needs)
    channels_after = _channel_items(compiled_headers, item_keys)
    holes_all: set[str] = set()
    for frame in frames:
        holes_all.update(_HOLE_RE.findall(frame.template))
    for items in channels_after:
        for item in items:
            holes_all.update(_HOLE_RE.findall(item.template))
    return _CompiledScenario(
        frames=tuple(frames),
        groups=tuple("ab"[: len(spec.agents)]),
        caller_prefix=spec.caller.rsplit("-", 1)[0],
        gate_index=gate_index,
        ring=ring,
        talk=talk,
        wait_for_agent=spec.wait_for_agent,
        channels_after=channels_after,
        holes=frozenset(holes_all),
    )


def _index(index_of: Mapping[int, int], seq: int) -> int:
    try:
        return index_of[seq]
    except KeyError:
        raise _RecordingError(f"record {seq} is not an event of the call") from None


def _about_other_queue(headers: Sequence[tuple[str, str]], queue: str) -> bool:
    for key, value in headers:
        if key == "Queue" and value != queue:
            return True
        if key == "Device" and value.startswith("Queue:"):
            name = value.removeprefix("Queue:")
            if name != queue and not name.startswith(queue + "_"):
                return True
    return False


def _compile_headers(
    event: str, headers: Sequence[tuple[str, str]], ident: _Identity
) -> list[tuple[str, str]]:
    """Turn one recorded frame's headers into (key, value) template fragments."""
    out: list[tuple[str, str]] = []
    block_roles: dict[str, str] = {}
    variable = ""
    member_group = "a"
    for key, value in headers:
        if key == "Variable":
            variable = value
        if key == "Interface" and value in ident.agent_locations:
            member_group = ident.agent_locations[value]
        for prefix in _BLOCK_PREFIXES:
            if key == prefix + "Channel" and value in ident.channels:
                block_roles[prefix] = ident.channels[value]
                if event == "LocalBridge" and prefix == "LocalOne":
                    block_roles[""] = block_roles[prefix]  # its closing Context/Exten are the pair's
        out.append(
            (
                _substitute(key, ident),
                _compile_value(event, key, value, variable, member_group, block_roles, ident),
            )
        )
    return out


def _compile_value(
    event: str,
    key: str,
    value: str,
    variable: str,
    member_group: str,
    block_roles: Mapping[str, str],
    ident: _Identity,
) -> str:
    if key == "ActionID":
        return _hole("orig_action_id")
    if key == "BridgeUniqueid":
        return _hole("bridge")
    if key.endswith(("Uniqueid", "Linkedid")) and value in ident.uids:
        return _hole(ident.uids[value])
    if (event, key) in _EVENT_HOLES:
        return _hole(_EVENT_HOLES[(event, key)])
    if event == "VarSet" and key == "Value" and value and variable in _VARSET_HOLES:
        hole = _VARSET_HOLES[variable]
        if hole != "queue" or value == ident.queue:
            return _hole(hole)
    if event == "QueueMemberStatus" and key in ("CallsTaken", "LastCall", "LoginTime"):
        return _hole(
            {"CallsTaken": f"{member_group}_calls", "LastCall": f"{member_group}_lastcall"}.get(
                key, "login_time"
            )
        )
    if key == "Queue" and value == ident.queue:
        return _hole("queue")
    if key == "Device" and value.startswith(f"Queue:{ident.queue}"):
        return "Queue:" + _hole("queue") + _literal(value.removeprefix(f"Queue:{ident.queue}"))
    if key == "AppData" and value.startswith(ident.queue + ","):
        return _hole("queue") + _literal(value.removeprefix(ident.queue))
    # An agent leg's Context/Exten/Extension: which agent depends on the block's channel.
    for suffix, recorded, what in (
        ("Context", ident.agent_contexts, "context"),
        ("Exten", ident.agent_extens, "exten"),
        ("Extension", ident.agent_extens, "exten"),
    ):
        if key.endswith(suffix):
            role = block_roles.get(key.removesuffix(suffix), "")
            group = role[:1]
            if group in recorded and value == recorded[group]:
                return _hole(f"{group}_{what}")
    return _substitute(value, ident)


def _substitute(text: str, ident: _Identity) -> str:
    out = _literal(text)
    for token, hole in ident.tokens:
        if token in out:
            out = out.replace(token, _hole(hole))
    return out


def _channel_items(
    frames: Sequence[tuple[str, Sequence[tuple[str, str]]]], item_keys: tuple[str, ...]
) -> tuple[tuple[_ChannelItem, ...], ...]:
    """For each frame, the CoreShowChannel items of the channels alive after it."""
    state: dict[str, dict[str, str]] = {}
    items: dict[str, _ChannelItem] = {}
    out: list[tuple[_ChannelItem, ...]] = []
    current: tuple[_ChannelItem, ...] = ()
    for event, headers in frames:
        fields = dict(headers)
        touched: set[str] = set()
        for prefix in _BLOCK_PREFIXES:
            match = _HOLE_RE.fullmatch(fields.get(prefix + "Channel", ""))
            if match is None or match[1] not in _ROLE_ORDER:
                continue
            role = match[1]
            if event == "Newchannel" and prefix == "":
                state[role] = {"Application": "", "ApplicationData": "", "BridgeId": ""}
            snapshot = state.get(role)
            if snapshot is None:
                continue
            for name in _SNAPSHOT_FIELDS:
                if prefix + name in fields:
                    snapshot[name] = fields[prefix + name]
            if prefix == "":
                if event == "Newexten":
                    snapshot["Application"] = fields["Application"]
                    snapshot["ApplicationData"] = fields["AppData"]
                elif event == "BridgeEnter":
                    snapshot["BridgeId"] = _hole("bridge")
                elif event == "BridgeLeave":
                    snapshot["BridgeId"] = ""
                elif event == "Hangup":
                    del state[role]
                    items.pop(role, None)
                    touched.add(role)
                    continue
            touched.add(role)
        for role in touched:
            if role in state:
                items[role] = _channel_item(role, state[role], item_keys)
        if touched:
            current = tuple(items[r] for r in _ROLE_ORDER if r in items)
        out.append(current)
    return tuple(out)


def _channel_item(role: str, snapshot: Mapping[str, str], item_keys: tuple[str, ...]) -> _ChannelItem:
    lines: list[str] = []
    for key in item_keys:
        if key == "Event":
            lines.append("Event: CoreShowChannel\r\n")
        elif key == "ActionID":
            lines.append(_hole("action_id_line"))
        elif key == "Duration":
            lines.append(f"Duration: {_hole('dur_' + role[0])}\r\n")
        elif key in snapshot:
            lines.append(f"{key}: {snapshot[key]}\r\n")
        else:
            raise _RecordingError(f"no value for CoreShowChannel field {key}")
    needs = frozenset() if role[0] == "c" else frozenset({role[0], role} if role.endswith("2") else {role[0]})
    return _ChannelItem("".join(lines) + "\r\n", needs)


# -- small helpers ---------------------------------------------------------------------------


def _bad_text(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _check_caller(number: str, name: str) -> None:
    """Refuse caller ids that could break an AMI frame or would not fit a channel field."""
    if not number or _bad_text(number) or len(number) > _MAX_VALUE_CHARS:
        raise ValueError(f"caller number {number!r} must be 1-{_MAX_VALUE_CHARS} printable characters")
    if _bad_text(name) or len(name) > _MAX_VALUE_CHARS:
        raise ValueError(f"caller name {name!r} must be at most {_MAX_VALUE_CHARS} printable characters")


def _c_escape(text: str) -> str:
    # Asterisk runs caller names through ast_escape_c_alloc; control characters are refused earlier.
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _address(sockaddr: object) -> str:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        host = str(sockaddr[0])
        return f"{'IPV6' if ':' in host else 'IPV4'}/TCP/{host}/{sockaddr[1]}"
    return "IPV4/TCP/0.0.0.0/0"


def _tv(epoch: float) -> str:
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}+0000"


def _whole_s(seconds: float) -> int:
    # Whole seconds as app_queue reports them; the epsilon absorbs float noise in planned offsets.
    return int(seconds + 1e-6)


def _hms(seconds: float) -> str:
    total = max(int(seconds), 0)
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
