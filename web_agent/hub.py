"""The WebSocket hub: which agent sockets are open, and which of them each frame goes to.

Transport only: it knows sockets, resumable streams, and whom a frame is routed to (by PBX
interface, agent or role); what a frame says is made by the feeds (`web_agent.feeds`). A pop
is routed by interface: only the sockets of the agent who owns the ringing interface receive
it, so an agent never sees another agent's caller. Every socket has its own bounded send queue
and writer task; a browser that stops reading is disconnected instead of stalling everyone
else, and resumes its stream when it reconnects (`web_agent.stream`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection, Hashable
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import WSCloseCode, web

from web_agent.stream import ResumableStream

log = logging.getLogger(__name__)


class Member(Protocol):
    """Who a stream belongs to (agents' `Agent`): the routing keys and a name for the log."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> Hashable: ...
    @property
    def interfaces(self) -> tuple[str, ...]: ...


M = TypeVar("M", bound=Member)


class AgentConnection(Generic[M]):
    """One resumable stream of one signed-in agent, and the browser socket reading it, if any.

    Every frame gets the stream's next seq and is kept in a bounded buffer; the stream
    outlives its socket for the hub's grace period, so a browser that reconnects with the
    last seq it saw gets exactly the frames it missed (see `web_agent.stream`).
    """

    def __init__(self, agent: M, ws: web.WebSocketResponse, queue_size: int, stream: ResumableStream) -> None:
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


class AgentHub(Generic[M]):
    """Routes frames to the streams of agents by interface, by agent, or by role.

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
        self._by_interface: dict[str, set[AgentConnection[M]]] = {}
        self._by_agent: dict[int, set[AgentConnection[M]]] = {}
        self._connections: set[AgentConnection[M]] = set()
        self._by_scope: dict[str, AgentConnection[M]] = {}
        self._by_role: dict[Hashable, set[AgentConnection[M]]] = {}
        self._detached: dict[AgentConnection[M], float] = {}
        self._snapshot_parts: dict[str, Callable[[M], Any]] = {}

    def add_snapshot_part(self, key: str, part: Callable[[M], Any]) -> None:
        """Include `part(agent)` under `key` in every snapshot (open pops, agent state, queue figures...)."""
        self._snapshot_parts[key] = part

    def connect(
        self, agent: M, ws: web.WebSocketResponse, resume: tuple[str, int] | None = None
    ) -> tuple[AgentConnection[M], bool]:
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

    def disconnect(self, connection: AgentConnection[M], ws: web.WebSocketResponse | None = None) -> None:
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

    def snapshot(self, connection: AgentConnection[M]) -> str:
        """The frame that replaces a replay: every registered part, at the stream's seq."""
        agent = connection.agent
        data = {key: part(agent) for key, part in self._snapshot_parts.items()}
        return json.dumps(
            {"op": "snapshot", "scope": connection.stream.scope, "seq": connection.stream.seq, "data": data},
            ensure_ascii=False,
        )

    def publish(
        self,
        interfaces: Collection[str],
        type_: str,
        data: dict[str, Any],
        *,
        roles: Collection[Hashable] = (),
    ) -> None:
        """Send one event to the streams of the agents owning `interfaces`, and of every agent with
        one of `roles`: encoded once, and once per stream however many ways it is addressed."""
        self._expire()
        targets = self._owners(interfaces)
        for role in roles:
            targets.update(self._by_role.get(role, ()))
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    def publish_split(
        self,
        interfaces: Collection[str],
        type_: str,
        owner_of: str,
        owner_data: dict[str, Any],
        others_data: dict[str, Any],
    ) -> None:
        """Send one event to the owners of `interfaces`: `owner_data` to the owner of `owner_of`, `others_data` to the rest."""
        self._expire()
        targets = self._owners(interfaces)
        if not targets:
            return
        owner_json = json.dumps(owner_data, ensure_ascii=False)
        others_json = json.dumps(others_data, ensure_ascii=False)
        for connection in targets:
            self._push(
                connection, type_, owner_json if owner_of in connection.agent.interfaces else others_json
            )

    def publish_to_roles(self, roles: Collection[Hashable], type_: str, data: dict[str, Any]) -> None:
        """Send one event to the streams of every agent with one of `roles` (supervisors' wallboard)."""
        targets = [c for role in roles for c in self._by_role.get(role, ())]
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    def has_streams_for(self, roles: Collection[Hashable]) -> bool:
        """Whether any agent with one of `roles` has a stream (open, or kept for their socket's return)."""
        return any(self._by_role.get(role) for role in roles)

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

    def _owners(self, interfaces: Collection[str]) -> set[AgentConnection[M]]:
        targets: set[AgentConnection[M]] = set()
        for interface in interfaces:
            targets.update(self._by_interface.get(interface, ()))
        return targets

    def _forget(self, connection: AgentConnection[M]) -> None:
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

    def online(self, agent_id: int) -> bool:
        """True while the agent has a desktop socket open (a stream waiting to resume does not count)."""
        return any(c in self._connections for c in self._by_agent.get(agent_id, ()))

    def send_to_agents(
        self,
        agent_ids: Collection[int],
        type_: str,
        data: dict[str, Any],
        *,
        roles: Collection[Hashable] = (),
    ) -> None:
        """Send one event to the streams of the given agents, and of every agent with one of `roles`."""
        targets = {c for role in roles for c in self._by_role.get(role, ())}
        for agent_id in agent_ids:
            targets.update(self._by_agent.get(agent_id, ()))
        if targets:
            data_json = json.dumps(data, ensure_ascii=False)
            for connection in targets:
                self._push(connection, type_, data_json)

    def _push(self, connection: AgentConnection[M], type_: str, data_json: str) -> None:
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
