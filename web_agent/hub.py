"""The WebSocket hub: which agent sockets are open, and what each of them is sent.

A pop is routed by PBX interface: only the sockets of the agent who owns the ringing
interface receive it, so an agent never sees another agent's caller. Every socket has its own
bounded send queue and writer task; a browser that stops reading is disconnected instead of
stalling everyone else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, web

from cti.events import CallAnswered, CallEnded, OfferRetracted
from cti.screen_pop import CallerCardLike, CustomerLike, PopMessage, ScreenPop
from web_agent.accounts import Agent

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
    """One open browser socket of one signed-in agent."""

    def __init__(self, agent: Agent, ws: web.WebSocketResponse, queue_size: int) -> None:
        self.agent = agent
        self.ws = ws
        # None is the signal to hang up on a browser that fell too far behind.
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self._seq = 0
        self.dropped = False

    def push(self, type_: str, data_json: str) -> bool:
        """Queue one event frame; False when the browser is too far behind."""
        self._seq += 1
        frame = f'{{"op":"event","seq":{self._seq},"type":"{type_}","data":{data_json}}}'
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def drop(self) -> None:
        """Discard what is queued and make the write loop close the socket."""
        self.dropped = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def write_loop(self) -> None:
        """Send queued frames until the socket closes, or close it when dropped."""
        while True:
            frame = await self._queue.get()
            if frame is None:
                await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow, reconnect")
                return
            await self.ws.send_str(frame, compress=False)


class AgentHub:
    """Routes pop messages to the sockets of the agents owning the ringing interfaces."""

    def __init__(self, *, send_queue: int) -> None:
        self._send_queue = send_queue
        self._by_interface: dict[str, set[AgentConnection]] = {}
        self._connections: set[AgentConnection] = set()

    def connect(self, agent: Agent, ws: web.WebSocketResponse) -> AgentConnection:
        """Register a socket for every interface the agent owns."""
        connection = AgentConnection(agent, ws, self._send_queue)
        self._connections.add(connection)
        for interface in agent.interfaces:
            self._by_interface.setdefault(interface, set()).add(connection)
        return connection

    def disconnect(self, connection: AgentConnection) -> None:
        """Forget a socket."""
        self._connections.discard(connection)
        for interface in connection.agent.interfaces:
            sockets = self._by_interface.get(interface)
            if sockets is not None:
                sockets.discard(connection)
                if not sockets:
                    del self._by_interface[interface]

    @property
    def connection_count(self) -> int:
        """Open agent sockets."""
        return len(self._connections)

    def send(self, interfaces: Collection[str], message: PopMessage) -> None:
        """Deliver a pop message to the sockets of the agents owning `interfaces`."""
        targets: set[AgentConnection] = set()
        for interface in interfaces:
            targets.update(self._by_interface.get(interface, ()))
        if not targets:
            return
        type_, data = message_json(message)
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

    def send_event(self, interfaces: Collection[str], type_: str, data: dict[str, Any]) -> None:
        """Deliver one event of another feature (e.g. `outbound_pop`) to the owners of `interfaces`."""
        targets: set[AgentConnection] = set()
        for interface in interfaces:
            targets.update(self._by_interface.get(interface, ()))
        data_json = json.dumps(data, ensure_ascii=False)
        for connection in targets:
            self._push(connection, type_, data_json)

    def _push(self, connection: AgentConnection, type_: str, data_json: str) -> None:
        if connection.dropped or connection.push(type_, data_json):
            return
        log.warning(
            "agent %s is not reading their socket (%d frames behind); disconnecting it so it reconnects",
            connection.agent.username,
            self._send_queue,
        )
        self.disconnect(connection)
        connection.drop()

    async def close(self) -> None:
        """Close every socket with GOING_AWAY (server shutdown)."""
        connections = list(self._connections)
        for connection in connections:
            self.disconnect(connection)
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for c in connections),
            return_exceptions=True,
        )
