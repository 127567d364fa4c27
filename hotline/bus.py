"""The in-process event bus: features publish domain events, others subscribe by event type."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
E = TypeVar("E")


class EventBus:
    """Synchronous fan-out by exact event type; a failing subscriber never stops the others.

    Subscribers must not block: anything slow (database, network) is the subscriber's own
    task, so the AMI reader that publishes call events is never held up.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Callable[[Any], None]]] = {}

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        """Call `handler` with every published event of type `kind`."""
        self._handlers.setdefault(kind, []).append(handler)

    def publish(self, event: object) -> None:
        """Hand `event` to its subscribers, in subscription order."""
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                log.exception("subscriber %r failed on %s", handler, type(event).__name__)
