"""The in-process event bus: features publish domain events, others subscribe by event type."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
E = TypeVar("E")
Subscriber = Callable[[E], Coroutine[Any, Any, None] | None]


class EventBus:
    """Fan-out by exact event type, in subscription order; a failing subscriber never stops the others.

    A plain subscriber runs at once and must not block. An async subscriber (a coroutine
    function) runs as a task the bus owns, so the publisher (the AMI reader, a ticket's use case)
    is never held up: its failure is logged, and `close()` awaits what is still running.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Subscriber[Any]]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def subscribe(self, kind: type[E], handler: Subscriber[E]) -> None:
        """Hand every published event of type `kind` to `handler`."""
        self._handlers.setdefault(kind, []).append(handler)

    def publish(self, event: object) -> None:
        """Hand `event` to its subscribers, in subscription order."""
        for handler in self._handlers.get(type(event), ()):
            try:
                work = handler(event)
            except Exception:
                log.exception("subscriber %r failed on %s", handler, type(event).__name__)
                continue
            if work is not None:
                task = asyncio.get_running_loop().create_task(self._run(handler, event, work))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    @property
    def running(self) -> int:
        """Async subscribers' work still in flight."""
        return len(self._running)

    async def close(self) -> None:
        """Wait for the async subscribers' work in flight, and for any it publishes in turn (shutdown)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    @staticmethod
    async def _run(handler: Subscriber[Any], event: object, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscriber %r failed on %s", handler, type(event).__name__)
