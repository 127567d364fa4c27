"""The simulated PBX: a loopback AMI server that plays queue calls like a real Asterisk 22.

Every byte it sends comes from a frame a real Asterisk 22.10.1 sent in the lab
(`cti/simulator/recordings/`), queue-member actions (QueueAdd, QueueRemove, QueuePause) included.
A call is the recorded event sequence (`cti.simulator.scenarios`) rendered with the values of the
PBX model (`cti.simulator.model`) and replayed on the recorded clock, with the ring and talk
phases stretched to the configured durations; the traffic (`cti.simulator.traffic`) decides who
calls and when, and the AMI server (`cti.simulator.server`) carries the frames to the clients.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine, Sequence
from typing import get_args

from cti.simulator.frames import AgentInterface, check_caller, session_frames
from cti.simulator.model import Call, Pbx, Plan, Step
from cti.simulator.scenarios import Scenario, scenarios
from cti.simulator.server import Action, AmiServer, FrameCallback, Session
from cti.simulator.settings import SimulatorSettings
from cti.simulator.traffic import Traffic

__all__ = ["PbxSimulator"]

logger = logging.getLogger(__name__)

_CALLER_RE = re.compile(r"^\+?[0-9]{2,20}$")


class PbxSimulator:
    """A TCP server on loopback that speaks Asterisk's AMI and plays queue calls.

    Several clients may log in; each gets every event through its own bounded buffer.
    """

    def __init__(self, settings: SimulatorSettings) -> None:
        s = self._settings = settings
        self._pbx = Pbx(s.queue, [AgentInterface.parse(i) for i in s.agent_interfaces])
        self._traffic = Traffic(s)
        self._frames = session_frames()
        compiled = scenarios()
        self._plans = {
            name: Plan.build(sc, ring_s=s.ring_s, talk_s=s.talk_s, time_scale=s.time_scale)
            for name, sc in compiled.items()
        }
        # An answered campaign call reaches an agent on auto-answer: the agent's leg rings briefly.
        self._outbound_plans: dict[Scenario, Plan] = {
            "answered": Plan.build(
                compiled["answered"], ring_s=s.outbound_agent_ring_s, talk_s=s.talk_s, time_scale=s.time_scale
            )
        }
        self._server = AmiServer(s, self._frames, self._pbx.booted_at)
        self._server.handle("CoreShowChannels", self._core_show_channels)
        self._server.handle("QueueStatus", self._queue_status)
        for verb in ("QueueAdd", "QueueRemove", "QueuePause"):
            self._server.handle(verb, self._queue_member_action)
        self._server.handle("Originate", self._originate)
        self._server.handle("Hangup", self._hangup)
        self._call_tasks: set[asyncio.Task[None]] = set()
        self._running = False
        self._closed = False

    async def start(self) -> None:
        """Start listening; `port` is the bound port afterwards."""
        if self._running or self._closed:
            raise RuntimeError("the simulator was already started")
        await self._server.start()
        self._running = True
        s = self._settings
        logger.info("PBX simulator listening on %s:%d (queue %s)", s.host, self.port, s.queue)

    @property
    def port(self) -> int:
        """The TCP port the simulator listens on."""
        return self._server.port

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
        if not self._running or self._closed:
            raise RuntimeError("the simulator is not running")
        if scenario not in self._plans:
            raise ValueError(f"unknown scenario {scenario!r}; use {', '.join(get_args(Scenario))}")
        check_caller(number, name)
        chosen = None if agents is None else tuple(AgentInterface.parse(a) for a in agents)
        if chosen == ():
            raise ValueError("agents must name at least one interface when given")
        return self._start_call(number, name, scenario, chosen)

    async def run_traffic(self) -> None:
        """Place calls as a Poisson process at `calls_per_minute` until cancelled (returns at once for 0)."""

        async def place(number: str, name: str, scenario: Scenario) -> None:
            await self.place_call(number=number, name=name, scenario=scenario)

        await self._traffic.run(place, lambda: self._closed)

    def on_frame_sent(self, callback: FrameCallback) -> None:
        """Call `callback(event name, raw frame, time.perf_counter())` for each event frame written."""
        self._server.on_frame_sent(callback)

    async def close(self) -> None:
        """Stop accepting, end the calls, send `Event: Shutdown` to the clients and close them."""
        if self._closed:
            return
        self._closed = True
        self._server.stop_accepting()
        for task in self._call_tasks:
            task.cancel()
        await asyncio.gather(*self._call_tasks, return_exceptions=True)
        await self._server.close()
        logger.info("PBX simulator closed")

    # -- calls ------------------------------------------------------------------------------

    def _start_call(
        self,
        number: str,
        name: str,
        scenario: Scenario,
        agents: tuple[AgentInterface, ...] | None,
        uids: tuple[str, str] | None = None,
        originate_action_id: str | None = None,
        *,
        direct: bool = False,
    ) -> str:
        # An originated call (a campaign call) that reaches an agent rings them as on auto-answer;
        # one that finds nobody waits (and gives up) like any caller.
        outbound = originate_action_id is not None and scenario in self._outbound_plans
        plan = (self._outbound_plans if outbound else self._plans)[scenario]
        call = self._pbx.new_call(
            plan,
            number,
            name,
            asyncio.get_running_loop().time(),
            agents=agents,
            uids=uids,
            originate_action_id=originate_action_id,
            direct=direct,
        )
        via_ivr = not outbound and self._traffic.takes_ivr()
        self._spawn(self._run_call(call, via_ivr), f"sim-call-{call.linkedid}")
        return call.linkedid

    def _spawn(self, coroutine: Coroutine[object, None, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _run_call(self, call: Call, via_ivr: bool = False) -> None:
        loop = asyncio.get_running_loop()
        base = call.started
        try:
            if via_ivr:
                v = call.values
                await self._traffic.walk_ivr(
                    channel=v["c2"],
                    unique_id=v["c2_uid"],
                    linked_id=call.linkedid,
                    caller_number=v["c_num"],
                    caller_name=v["c_name"],
                )
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
            self._pbx.end_call(call)

    async def _seat_agents(self, call: Call) -> None:
        """Pick the agents that ring (waiting in queue when all are busy) and fill in their values."""
        pbx = self._pbx
        groups = call.plan.scenario.groups
        candidates = pbx.candidates(call)
        seated = pbx.take_free(candidates, len(groups), rotate=call.requested is None, queued=not call.direct)
        if not seated and call.plan.scenario.wait_for_agent:
            seated = [await self._wait_for_agent(candidates)]
            others = [c for c in candidates if c is not seated[0]]
            seated += pbx.take_free(others, len(groups) - 1, rotate=False)
        pbx.seat(call, seated, asyncio.get_running_loop().time())

    async def _wait_for_agent(self, candidates: Sequence[AgentInterface]) -> AgentInterface:
        future: asyncio.Future[AgentInterface] = asyncio.get_running_loop().create_future()

        def take(agent: AgentInterface) -> bool:
            if future.done():
                return False  # the caller is leaving
            future.set_result(agent)
            return True

        waiter = self._pbx.wait_for(candidates, take)
        try:
            agent = await future
        except asyncio.CancelledError:
            self._pbx.stop_waiting(waiter)
            if future.done() and not future.cancelled():
                self._pbx.free_agent(future.result().interface)
            raise
        return next(a for a in candidates if a.interface == agent.interface)

    def _play(self, call: Call, step: Step, now: float) -> None:
        """Render one batch of a call's frames, due at `now`, and hand them to the server.

        Timings use the simulated clock (when steps were due), so a late loop never shortens a ring.
        """
        pbx = self._pbx
        pbx.refresh(call, now)
        values = call.values
        absent = call.absent
        names: list[str] = []
        chunks: list[bytes] = []
        for frame in step.frames:
            if frame.needs and not frame.needs.isdisjoint(absent):
                continue
            if frame.hook is not None:
                pbx.apply(call, frame.hook, now)
                pbx.refresh(call, now)
            chunks.append((frame.template % values).encode())
            names.append(frame.name)
        call.progress = step.last_index
        if chunks:
            self._server.publish(names, chunks)

    # -- actions that reach the PBX ------------------------------------------------------------

    def _core_show_channels(self, session: Session, action: Action) -> None:
        p = self._frames
        reply = {"action_id_line": action.action_id_line}
        items = [
            item.template % {**values, **reply}
            for item, values in self._pbx.channels(asyncio.get_running_loop().time())
        ]
        self._server.send_list(session, p.channels_start, items, p.channels_complete, reply)

    def _queue_status(self, session: Session, action: Action) -> None:
        p = self._frames
        pbx = self._pbx
        reply = {"action_id_line": action.action_id_line}
        wanted_queue = action.get("queue")
        wanted_member = action.get("member")
        items: list[str] = []
        if not wanted_queue or wanted_queue == pbx.queue_name:
            items.append(p.queue_params % {**reply, **pbx.queue_values()})
            for interface in pbx.agents:
                m = pbx.members[interface]
                a = m.agent
                if not m.in_queue or (
                    wanted_member and wanted_member not in (a.location, a.name, a.interface)
                ):
                    continue
                items.append(p.queue_member % {**reply, **pbx.member_values(m)})
            items.extend(
                p.queue_entry % {**entry, **reply} for entry in pbx.waiting(asyncio.get_running_loop().time())
            )
        self._server.send_list(session, p.queue_status_start, items, p.queue_status_complete, reply)

    def _queue_member_action(self, session: Session, action: Action) -> None:
        """QueueAdd, QueueRemove and QueuePause of a configured agent, answered as ami_f shows."""
        p = self._frames
        server = self._server
        pbx = self._pbx
        verb = action.get("action").lower()
        reply = {"action_id_line": action.action_id_line}
        queue = action.get("queue")
        member = pbx.find_member(action.get("interface"))
        if queue and queue != pbx.queue_name:
            if verb == "queuepause":
                server.send(session, p.pause_not_found, reply)
            else:
                doing = "add interface to" if verb == "queueadd" else "remove interface from"
                server.send(session, p.error, {**reply, "message": f"Unable to {doing} queue: No such queue"})
            return
        if verb == "queueadd":
            if member is None:
                message = "Unable to add interface to queue: the simulator knows only its configured agents"
                server.send(session, p.error, {**reply, "message": message})
            elif member.in_queue:
                server.send(session, p.already_there, reply)
            else:
                penalty = action.get("penalty")
                pbx.add(
                    member,
                    paused=action.get("paused").lower() == "true",
                    penalty=int(penalty) if penalty.isdigit() else 0,
                )
                server.send(session, p.queue_add_ok, reply)
                server.broadcast("QueueMemberAdded", p.member_added, pbx.member_values(member))
                pbx.offer(member)
        elif member is None or not member.in_queue:
            server.send(session, p.remove_not_there if verb == "queueremove" else p.pause_not_found, reply)
        elif verb == "queueremove":
            pbx.remove(member)
            server.send(session, p.remove_ok, reply)
            server.broadcast("QueueMemberRemoved", p.member_removed, pbx.member_values(member))
        else:
            paused = action.get("paused").lower() == "true"
            pbx.pause(member, paused=paused, reason=action.get("reason"))
            server.send(session, p.pause_ok if paused else p.unpause_ok, reply)
            server.broadcast("QueueMemberPause", p.member_pause, pbx.member_values(member))
            pbx.offer(member)

    def _originate(self, session: Session, action: Action) -> None:
        """Queue an asynchronous Originate to `Local/<number>@<context>` and play how it ends.

        Busy and unanswered dials get the recorded failure OriginateResponse (ami_d5, ami_d3).
        Answered dials run the answered queue call (or, with no agent free, the abandon call),
        with the caller's channels carrying the requested ChannelId and OtherChannelId. A dial for
        one agent (`HOTLINE_AGENT`) rings that agent straight away, as the shipped dialplan's
        `Dial(${HOTLINE_AGENT})` does, whoever waits in the queue.
        """
        p = self._frames
        reply = {"action_id_line": action.action_id_line}
        channel = action.get("channel")
        if not channel:
            self._server.send(session, p.error, {**reply, "message": "Channel not specified"})
            return
        self._server.send(session, p.originate_queued, reply)
        self._spawn(self._play_originate(session, action), f"sim-originate-{channel}")

    async def _play_originate(self, session: Session, action: Action) -> None:
        p = self._frames
        s = self._settings
        channel = action.get("channel")
        number = channel.partition("/")[2].partition("@")[0] or "unknown"
        channel_id = action.get("channelid") or self._pbx.next_uid()
        other_id = action.get("otherchannelid") or self._pbx.next_uid()
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
        agent = self._pbx.members.get(action.variable("HOTLINE_AGENT"))
        outcome = self._traffic.dial_outcome()
        if outcome == "answered":
            await asyncio.sleep(s.originate_ring_s)
            free = agent.available if agent is not None else self._pbx.anyone_free
            # The recorded queue calls were themselves originated by the lab: their own
            # OriginateResponse (Reason 4, Uniqueid = the first channel's id) answers this one.
            self._start_call(
                number if _CALLER_RE.match(number) else "unknown",
                "",
                "answered" if free else "abandon",
                None if agent is None else (agent.agent,),
                (channel_id, other_id),
                action.fields.get("actionid", ""),
                direct=agent is not None,
            )
        elif outcome == "busy":
            await asyncio.sleep(s.originate_ring_s)
            self._server.send_event(session, "OriginateResponse", p.originate_busy, values)
        else:
            await asyncio.sleep(s.originate_no_answer_s)
            self._server.send_event(session, "OriginateResponse", p.originate_no_answer, values)

    def _hangup(self, session: Session, action: Action) -> None:
        """Hangup of a known call's channel is acknowledged; the call plays on to its recorded end."""
        p = self._frames
        reply = {"action_id_line": action.action_id_line}
        if self._pbx.knows_channel(action.get("channel")):
            self._server.send(session, p.channel_hungup, reply)
        else:
            self._server.send(session, p.error, {**reply, "message": "No such channel"})


def _split_caller_id(raw: str) -> tuple[str, str, str]:
    """(number, '', name) of `"Name" <number>`; `<unknown>` for what is missing, as Asterisk writes."""
    match = re.fullmatch(r'\s*(?:"([^"]*)"\s*)?<([^>]*)>\s*', raw)
    if match is None:
        return (raw.strip() or "<unknown>", "", "<unknown>")
    return (match.group(2) or "<unknown>", "", match.group(1) or "<unknown>")
