"""Carries chosen bus events between Hotline nodes over Redis pub/sub (HOTLINE_REDIS_URL).

Each node publishes the events of the chosen kinds it produced, as JSON, on one channel, and
hands the events other nodes produced to its own bus, so subscribers cannot tell a remote
event from a local one. Only flat dataclass events travel (ids and plain values): receivers
re-read what changed from the database. Redis pub/sub keeps nothing for a node that is away,
so after every (re)connect `on_connected` runs (the knowledge base reloads its index), and a
node never stays wrong after a Redis outage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotline.bus import EventBus

log = logging.getLogger(__name__)

CHANNEL = "hotline:events"
PUBLISH_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 30.0
MAX_PENDING = 10_000


class RedisRelay:
    """Relays events of `kinds` between this node's bus and every other node's, through Redis."""

    def __init__(
        self,
        url: str,
        bus: EventBus,
        kinds: Sequence[type[Any]],
        *,
        on_connected: Callable[[], Awaitable[object]] | None = None,
        channel: str = CHANNEL,
        node_id: str | None = None,
    ) -> None:
        self._url = url
        self._bus = bus
        self._kinds = {kind.__name__: kind for kind in kinds}
        self._on_connected = on_connected
        self._channel = channel
        self.node_id = node_id or uuid.uuid4().hex
        self._outbox: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING)
        self._unsent: str | None = None
        self._relaying_in = False
        self.connected = False
        for kind in kinds:
            bus.subscribe(kind, self._send)

    def _send(self, event: object) -> None:
        """Bus subscriber: queue a local event for the other nodes (never an event that came from them)."""
        if self._relaying_in:
            return
        payload = json.dumps(
            {"node": self.node_id, "kind": type(event).__name__, "data": dataclasses.asdict(event)}  # type: ignore[call-overload]
        )
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            log.error("Redis relay outbox full: %s not sent to the other nodes", type(event).__name__)

    async def run(self) -> None:
        """Connect, relay both ways, reconnect with backoff after any Redis failure; until cancelled."""
        delay_s = 0.5
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("Redis relay lost its connection (%s); reconnecting in %.1f s", exc, delay_s)
            except Exception:
                log.exception("Redis relay failed; reconnecting in %.1f s", delay_s)
            finally:
                self.connected = False
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, RECONNECT_MAX_S)

    async def _session(self) -> None:
        client = aioredis.from_url(self._url, socket_connect_timeout=CONNECT_TIMEOUT_S)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await pubsub.subscribe(self._channel)
            if self._on_connected is not None:
                await self._on_connected()
            # Connected means caught up: subscribed, and what was missed meanwhile reloaded.
            self.connected = True
            log.info("Redis relay connected (node %s)", self.node_id)
            reader = asyncio.get_running_loop().create_task(self._read(pubsub))
            writer = asyncio.get_running_loop().create_task(self._write(client))
            try:
                done, _ = await asyncio.wait((reader, writer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                reader.cancel()
                writer.cancel()
                await asyncio.gather(reader, writer, return_exceptions=True)
            for task in done:
                task.result()
            raise ConnectionError("the Redis subscription ended")
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _write(self, client: aioredis.Redis) -> None:
        while True:
            # A message whose publish failed is sent first after the reconnect, so none is lost.
            if self._unsent is None:
                self._unsent = await self._outbox.get()
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await client.publish(self._channel, self._unsent)
            self._unsent = None
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # redis-py can swallow a cancellation that lands during a command; honour it here,
                # or shutting down would wait on the next outbox item forever.
                raise asyncio.CancelledError

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                self._receive(message["data"])

    def _receive(self, raw: bytes) -> None:
        try:
            envelope = json.loads(raw)
            if envelope["node"] == self.node_id:
                return
            kind = self._kinds.get(envelope["kind"])
            if kind is None:
                return
            event = kind(**envelope["data"])
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("Redis relay dropped a malformed message (%s): %.200r", exc, raw)
            return
        self._relaying_in = True
        try:
            self._bus.publish(event)
        finally:
            self._relaying_in = False
