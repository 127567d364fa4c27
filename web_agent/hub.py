"""The WebSocket hub: which agent sockets are open, and what each of them is sent.

A pop is routed by PBX interface: only the sockets of the agent who owns the ringing
interface receive it, so an agent never sees another agent's caller. Every socket has its own
bounded send queue and writer task; a browser that stops reading is disconnected instead of
stalling everyone else, and resumes its stream when it reconnects (`web_agent.stream`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, web

from agents import Agent, Role
from cti.events import CallAnswered, CallEnded, OfferRetracted
from cti.screen_pop import CallerCardLike, CustomerLike, PopMessage, ScreenPop
from cti.store import IvrVisitRecord
from web_agent.stream import ResumableStream

log = logging.getLogger(__name__)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def _plain(value: object) -> object:
    """Enum members and dates as the JSON the browser expects."""
    if value is None:
        return None
    enum_value = getattr(value, "value", None)
    if enum_value is not None:
        return enum_value
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return value


def customer_json(customer: CustomerLike) -> dict[str, Any]:
    """A customer as the desktop shows it."""
    return {
        "id": customer.id,
        "customer_no": customer.customer_no,
        "name": customer.name,
        "tier": _plain(customer.tier),
        "email": customer.email,
        "phones": list(customer.phones),
        "birthday": _plain(customer.birthday),
    }


def card_json(card: CallerCardLike | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The customer and interactions parts of a pop."""
    if card is None:
        return None, []
    return (
        customer_json(card.customer),
        [
            {"occurred_at": i.occurred_at.isoformat(), "channel": i.channel, "summary": i.summary}
            for i in card.interactions
        ],
    )


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
    """(type, data) of the envelope for one pop message."""
    if isinstance(message, ScreenPop):
        customer, interactions = card_json(message.card)
        return "screen_pop", {
            "call_id": message.call_id,
            "queue": message.queue,
            "offered_at": _iso(message.offered_at),
            "caller": {"number": message.caller_number, "name": message.caller_name},
            "customer": customer,
            "interactions": interactions,
            "ivr": ivr_json(message.ivr),
            "suggestions": [
                {"article_id": s.article_id, "title": s.title, "body": s.body, "category": s.category}
                for s in message.suggestions
            ],
        }
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


class AgentConnection:
    """One resumable stream of one signed-in agent, and the browser socket reading it, if any.

    Every frame gets the stream's next seq and is kept in a bounded buffer; the stream
    outlives its socket for the hub's grace period, so a browser that reconnects with the
    last seq it saw gets exactly the frames it missed (see `web_agent.stream`).
    """

    def __init__(
        self, agent: Agent, ws: web.WebSocketResponse, queue_size: int, stream: ResumableStream
    ) -> None:
        self.agent = agent
        self.ws: web.WebSocketResponse | None = ws
        self.stream = stream
        self._queue_size = queue_size
        # None is the signal to hang up on a browser that fell too far behind.
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self.dropped = False

    def push(self, type_: str, data_json: str) -> bool:
        """Number and keep one event frame, and queue it for the socket; False when the browser is too far behind."""
        frame = self.stream.append(type_, data_json)
        if self.ws is None or self.dropped:
            return True
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def attach(self, ws: web.WebSocketResponse, replay: list[str]) -> None:
        """Give the stream a new socket; `replay` (the frames it missed) goes out first, in order."""
        self.ws = ws
        self.dropped = False
        self._queue = asyncio.Queue(maxsize=self._queue_size + len(replay))
        for frame in replay:
            self._queue.put_nowait(frame)

    def detach(self) -> None:
        """The socket is gone; frames are still numbered and kept for a resume."""
        self.ws = None

    def drop(self) -> None:
        """Discard what is queued and make the write loop close the socket (the stream stays resumable)."""
        self.dropped = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def write_loop(self) -> None:
        """Send queued frames until the socket closes, or close it when dropped."""
        ws = self.ws
        if ws is None:
            return
        queue = self._queue
        while True:
            frame = await queue.get()
            if frame is None:
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow, reconnect")
                return
            await ws.send_str(frame, compress=False)


SnapshotPart = Callable[[Agent], Any]


class AgentHub:
    """Routes pop messages to the sockets of the agents owning the ringing interfaces.

    A stream whose socket closed stays routed for `resume_grace_s`, buffering what it is
    sent, so a reconnecting browser resumes where it stopped (`connect(..., resume=...)`).
    """

    def __init__(
        self,
        *,
        send_queue: int,
        resume_buffer: int = 512,
        resume_grace_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send_queue = send_queue
        self._resume_buffer = resume_buffer
        self._resume_grace_s = resume_grace_s
        self._clock = clock
        self._by_interface: dict[str, set[AgentConnection]] = {}
        self._by_agent: dict[int, set[AgentConnection]] = {}
        self._connections: set[AgentConnection] = set()
        self._by_scope: dict[str, AgentConnection] = {}
        self._by_role: dict[Role, set[AgentConnection]] = {}
        self._detached: dict[AgentConnection, float] = {}
        # Pops each interface has open (offered or answered, not yet retracted or ended), for snapshots.
        self._open_pops: dict[str, dict[str, dict[str, Any]]] = {}
        self._snapshot_parts: dict[str, SnapshotPart] = {}

    def add_snapshot_part(self, key: str, part: SnapshotPart) -> None:
        """Include `part(agent)` under `key` in every snapshot (agent state, queue figures...)."""
        self._snapshot_parts[key] = part

    def connect(
        self, agent: Agent, ws: web.WebSocketResponse, resume: tuple[str, int] | None = None
    ) -> tuple[AgentConnection, bool]:
        """Attach a socket: to its old stream when `resume` (scope, last seq) can be honoured, else to a new one.

        Returns the connection and whether it resumed; a resumed socket is sent the missed frames first.
        """
        self._expire()
        if resume is not None:
            old = self._by_scope.get(resume[0])
            if old is not None and old.ws is None and old.agent.id == agent.id:
                missed = old.stream.since(resume[1])
                if missed is not None:
                    del self._detached[old]
                    self._by_role.get(old.agent.role, set()).discard(old)
                    self._by_role.setdefault(agent.role, set()).add(old)
                    old.agent = agent
                    old.attach(ws, missed)
                    self._connections.add(old)
                    return old, True
        connection = AgentConnection(agent, ws, self._send_queue, ResumableStream(self._resume_buffer))
        self._connections.add(connection)
        self._by_agent.setdefault(agent.id, set()).add(connection)
        self._by_scope[connection.stream.scope] = connection
        self._by_role.setdefault(agent.role, set()).add(connection)
        for interface in agent.interfaces:
            self._by_interface.setdefault(interface, set()).add(connection)
        return connection, False

    def disconnect(self, connection: AgentConnection, ws: web.WebSocketResponse | None = None) -> None:
        """The socket closed: keep the stream resumable for the grace period.

        With `ws`, only when that socket is still the stream's: a browser that already resumed
        on a new socket must not lose it when the old socket's handler finishes.
        """
        if ws is not None and connection.ws is not ws:
            return
        if connection in self._connections:
            self._connections.discard(connection)
            connection.detach()
            self._detached[connection] = self._clock()

    def snapshot(self, connection: AgentConnection) -> str:
        """The frame that replaces a replay: open pops and every registered part, at the stream's seq."""
        agent = connection.agent
        pops = [pop for interface in agent.interfaces for pop in self._open_pops.get(interface, {}).values()]
        data: dict[str, Any] = {"pops": pops}
        for key, part in self._snapshot_parts.items():
            data[key] = part(agent)
        return json.dumps(
            {"op": "snapshot", "scope": connection.stream.scope, "seq": connection.stream.seq, "data": data},
            ensure_ascii=False,
        )

    def publish(self, interfaces: Collection[str], type_: str, data: dict[str, Any]) -> None:
        """Send one event to the streams of the agents owning `interfaces`."""
        targets: set[AgentConnection] = set()
        for interface in interfaces:
            targets.update(self._by_interface.get(interface, ()))
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    def publish_to_roles(self, roles: Collection[Role], type_: str, data: dict[str, Any]) -> None:
        """Send one event to the streams of every agent with one of `roles` (supervisors' wallboard)."""
        targets = [c for role in roles for c in self._by_role.get(role, ())]
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    @property
    def connection_count(self) -> int:
        """Open agent sockets (not counting one being closed for reading too slowly)."""
        return len(self._connections)

    def _expire(self) -> None:
        if not self._detached:
            return
        deadline = self._clock() - self._resume_grace_s
        for connection, since in list(self._detached.items()):
            if since <= deadline:
                self._forget(connection)

    def _forget(self, connection: AgentConnection) -> None:
        self._detached.pop(connection, None)
        self._connections.discard(connection)
        own = self._by_agent.get(connection.agent.id)
        if own is not None:
            own.discard(connection)
            if not own:
                del self._by_agent[connection.agent.id]
        self._by_scope.pop(connection.stream.scope, None)
        self._by_role.get(connection.agent.role, set()).discard(connection)
        for interface in connection.agent.interfaces:
            sockets = self._by_interface.get(interface)
            if sockets is not None:
                sockets.discard(connection)
                if not sockets:
                    del self._by_interface[interface]

    def _track_pops(self, interfaces: Collection[str], message: PopMessage, data: dict[str, Any]) -> None:
        call_id = message.call_id
        for interface in interfaces:
            if isinstance(message, ScreenPop):
                self._open_pops.setdefault(interface, {})[call_id] = data
                continue
            pops = self._open_pops.get(interface)
            if pops is None or call_id not in pops:
                continue
            if isinstance(message, CallAnswered) and message.interface == interface:
                pops[call_id] = {**pops[call_id], "answered": True}
            else:
                del pops[call_id]
                if not pops:
                    del self._open_pops[interface]

    def send(self, interfaces: Collection[str], message: PopMessage) -> None:
        """Deliver a pop message to the sockets of the agents owning `interfaces`."""
        type_, data = message_json(message)
        self._track_pops(interfaces, message, data)
        self._expire()
        targets: set[AgentConnection] = set()
        for interface in interfaces:
            targets.update(self._by_interface.get(interface, ()))
        if not targets:
            return
        if isinstance(message, CallAnswered):
            mine = json.dumps({**data, "by_me": True}, ensure_ascii=False)
            theirs = json.dumps({**data, "by_me": False}, ensure_ascii=False)
            for connection in targets:
                self._push(
                    connection, type_, mine if message.interface in connection.agent.interfaces else theirs
                )
            return
        data_json = json.dumps(data, ensure_ascii=False)
        for connection in targets:
            self._push(connection, type_, data_json)

    def online(self, agent_id: int) -> bool:
        """True while the agent has a desktop socket open (a stream waiting to resume does not count)."""
        return any(c in self._connections for c in self._by_agent.get(agent_id, ()))

    def send_to_agents(self, agent_ids: Collection[int], type_: str, data: dict[str, Any]) -> None:
        """Send one event to the streams of the given agents and of every supervisor and admin."""
        targets = {c for role in (Role.SUPERVISOR, Role.ADMIN) for c in self._by_role.get(role, ())}
        for agent_id in agent_ids:
            targets.update(self._by_agent.get(agent_id, ()))
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    def _push(self, connection: AgentConnection, type_: str, data_json: str) -> None:
        # A dropped stream still numbers and keeps the frame, so the browser resumes without a gap.
        if connection.push(type_, data_json):
            return
        log.warning(
            "agent %s is not reading their socket (%d frames behind); disconnecting it so it reconnects",
            connection.agent.username,
            self._send_queue,
        )
        connection.drop()
        # Detached, the stream keeps numbering and buffering for the browser's resume.
        self.disconnect(connection)

    async def close(self) -> None:
        """Close every socket with GOING_AWAY (server shutdown)."""
        connections = [c for c in self._connections if c.ws is not None]
        for connection in list(self._by_scope.values()):
            self._forget(connection)
        await asyncio.gather(
            *(
                c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for c in connections
                if c.ws
            ),
            return_exceptions=True,
        )
