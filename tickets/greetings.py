"""The daily special-day job: queue a birthday or anniversary greeting for each customer whose day it is.

Greetings go through the notice outbox (`NoticeDispatcher` delivers them with the same lease,
SKIP LOCKED and retry as every notice). The outbox's unique index keeps one greeting per
customer, occasion and year, so the job can run every hour, on every node, and after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from tickets.notify import NoticeChannel
from tickets.special_days import (
    Celebrant,
    GreetingSettings,
    days_celebrated_on,
    due_greetings,
    greeting_day,
    render_greeting,
)
from tickets.store import TicketStore

log = logging.getLogger(__name__)

# Greetings go out from a set hour; looking hourly sends each on the hour it becomes due.
GREETINGS_EVERY_S = 3600.0


class SpecialDayDirectory(Protocol):
    """Port: the customers who want greetings and have a special day on one of the given days."""

    async def special_days(self, days: Sequence[tuple[int, int]]) -> Sequence[Celebrant]:
        """Customers (not opted out) whose birthday or anniversary is one of these (month, day)."""
        ...


class GreetingService:
    """Queues today's greetings; safe to run as often as wanted (each goes out once per year)."""

    def __init__(
        self,
        directory: SpecialDayDirectory,
        store: TicketStore,
        channels: Mapping[str, NoticeChannel],
        settings: GreetingSettings,
        clock: Callable[[], datetime],
        notice_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._directory = directory
        self._store = store
        self._channels = dict(channels)
        self._settings = settings
        self._clock = clock
        self._notice_queued = notice_queued

    async def run_once(self) -> int:
        """Queue every greeting due now that is not queued yet; return how many this call queued."""
        now = self._clock()
        today = greeting_day(now, self._settings)
        if today is None:
            return 0
        channel = self._channels.get(self._settings.channel)
        if channel is None:
            log.warning(
                "greetings are set to go by %r, which this node has no channel for", self._settings.channel
            )
            return 0
        celebrants = await self._directory.special_days(days_celebrated_on(today))
        queued = 0
        for greeting in due_greetings(celebrants, today):
            recipient = channel.reaches(greeting.email, greeting.phone)
            if recipient is None:
                log.info(
                    "no %s greeting for customer %d: %s does not reach them",
                    greeting.occasion.value,
                    greeting.customer_id,
                    channel.name,
                )
                continue
            subject, body = render_greeting(greeting, self._settings.company_name)
            if await self._store.enqueue_greeting(
                greeting.customer_id,
                kind=greeting.occasion.value,
                year=greeting.year,
                channel=channel.name,
                recipient=recipient,
                subject=subject,
                body=body,
                at=now,
            ):
                queued += 1
        if queued:
            log.info("%d special-day greetings queued for %s", queued, today.isoformat())
            self._notice_queued()
        return queued
