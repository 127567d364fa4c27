"""Notices to customers: what they say, the channels that carry them, and the outbox dispatcher.

A notice is written to the outbox in the same transaction as the change that causes it, then
delivered by `NoticeDispatcher`, one `OutboxDispatcher` (the alerts' outbox is another). Channels are pluggable (`NoticeChannel`): email today, SMS or a
webhook later, without touching the service flow. A failed delivery is retried with backoff and
finally marked failed with its error, where the ticket's detail view shows it.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypedDict, TypeVar, Unpack

from tickets.errors import NoticeDeliveryError
from tickets.events import EventSink, NoticeAttempted
from tickets.model import Ticket
from tickets.store import Notice, TicketStore

log = logging.getLogger(__name__)

_Item = TypeVar("_Item", bound="OutboxItem")
_Sent = TypeVar("_Sent", contravariant=True)

SERVICE_COMPLETED = "service_completed"


class NoticeChannel(Protocol):
    """A way to reach a customer."""

    @property
    def name(self) -> str:
        """Stored with each notice (`email`, `sms`, `webhook`)."""
        ...

    def recipient(self, ticket: Ticket) -> str | None:
        """Where this channel reaches the ticket's customer, or None if it cannot."""
        ...

    def reaches(self, email: str | None, phone: str | None) -> str | None:
        """Where this channel reaches a customer with these contacts (greetings), or None."""
        ...

    async def deliver(self, notice: Notice) -> None:
        """Send one notice; raise NoticeDeliveryError (or OSError) when it did not go out."""
        ...


def render_service_completed(ticket: Ticket, confirm_url: str) -> tuple[str, str]:
    """Subject and plain-text body of the "your request is resolved" notice."""
    name = ticket.customer_name or "customer"
    subject = f"Ticket #{ticket.number} resolved: {ticket.subject}"
    body = (
        f"Dear {name},\n\n"
        f"your request #{ticket.number} ({ticket.subject}) has been resolved.\n\n"
        f"What we did:\n{ticket.resolution or ''}\n\n"
        "Is everything working for you now? Please confirm, or tell us what is still missing and\n"
        "we will reopen the request with the same handler:\n"
        f"{confirm_url}\n\n"
        "Thank you for your patience.\n"
    )
    return subject, body


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: 30 s, 1 min, 2 min, … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class LoggedEmailChannel:
    """The email channel when no SMTP server is configured (`hotline demo`): notices go to the log."""

    name = "email"

    def recipient(self, ticket: Ticket) -> str | None:
        """The customer's email address, if known."""
        return ticket.contact_email

    def reaches(self, email: str | None, phone: str | None) -> str | None:
        """The email address, if known."""
        return email

    async def deliver(self, notice: Notice) -> None:
        """Log the notice instead of sending it: a line at INFO, the whole text at DEBUG."""
        log.info(
            "email to %s not sent (no SMTP server is configured; the text is logged at DEBUG): %s",
            notice.recipient,
            notice.subject,
        )
        log.debug("email to %s:\nSubject: %s\n\n%s", notice.recipient, notice.subject, notice.body)


class OutboxLimits(TypedDict, total=False):
    """How an outbox is drained: lease per claim, attempts before giving up, time per send, batch size."""

    lease_s: float
    max_attempts: int
    send_timeout_s: float
    batch: int


class OutboxItem(Protocol):
    """What the outbox loop reads of an item: the channel it goes by and how often it was tried."""

    @property
    def channel(self) -> str: ...

    @property
    def attempts(self) -> int: ...


class Carrier(Protocol[_Sent]):
    """A channel as the outbox loop sees it: it delivers one item or raises."""

    async def deliver(self, item: _Sent, /) -> None:
        """Send `item`; raise NoticeDeliveryError, OSError or TimeoutError if it did not go out."""
        ...


class OutboxDispatcher(ABC, Generic[_Item]):
    """Drains one outbox: claims due items (lease + SKIP LOCKED, safe on several nodes), sends each.

    A failed send is retried with backoff (`retry_delay`) and, after `max_attempts`, marked failed
    and kept. Subclasses say how to claim and how to record an item; the loop is the same for all.
    """

    # What the items are, for the log line when a whole round fails.
    items = "items"

    def __init__(
        self,
        channels: Mapping[str, Carrier[_Item]],
        clock: Callable[[], datetime],
        *,
        lease_s: float = 120.0,
        max_attempts: int = 8,
        send_timeout_s: float = 30.0,
        batch: int = 20,
    ) -> None:
        self._channels = dict(channels)
        self._clock = clock
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._send_timeout_s = send_timeout_s
        self._batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (something was just queued)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver everything due now; return how many sends were attempted."""
        attempted = 0
        while True:
            claimed = await self._claim(self._clock(), self._lease_s, self._batch)
            if not claimed:
                return attempted
            attempted += len(claimed)
            await asyncio.gather(*(self._deliver(item) for item in claimed))

    async def run(self, poll_s: float) -> None:
        """Deliver until cancelled: on every wake-up and at least every `poll_s` (retries come due)."""
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivering %s failed; trying again in %.0f s", self.items, poll_s)
            try:
                async with asyncio.timeout(poll_s):
                    await self._wake.wait()
            except TimeoutError:
                continue

    async def _deliver(self, item: _Item) -> None:
        channel = self._channels.get(item.channel)
        try:
            if channel is None:
                raise NoticeDeliveryError(item.channel, "this channel is not configured on this node")
            async with asyncio.timeout(self._send_timeout_s):
                await channel.deliver(item)
        except (NoticeDeliveryError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            give_up = item.attempts >= self._max_attempts
            retry_at = None if give_up else self._clock() + retry_delay(item.attempts)
            await self._failed(item, reason, retry_at)
            return
        await self._sent(item, self._clock())

    @abstractmethod
    async def _claim(self, now: datetime, lease_s: float, batch: int) -> Sequence[_Item]:
        """Take up to `batch` items due at `now`, leased for `lease_s`."""

    @abstractmethod
    async def _failed(self, item: _Item, reason: str, retry_at: datetime | None) -> None:
        """Record a failed send: due again at `retry_at`, or given up when it is None."""

    @abstractmethod
    async def _sent(self, item: _Item, at: datetime) -> None:
        """Record a send that went out at `at`."""


class NoticeDispatcher(OutboxDispatcher[Notice]):
    """Drains the customer-notice outbox through the configured channels."""

    items = "customer notices"

    def __init__(
        self,
        store: TicketStore,
        channels: Mapping[str, NoticeChannel],
        clock: Callable[[], datetime],
        events: EventSink,
        **limits: Unpack[OutboxLimits],
    ) -> None:
        super().__init__(channels, clock, **limits)
        self._store = store
        self._events = events

    async def _claim(self, now: datetime, lease_s: float, batch: int) -> Sequence[Notice]:
        return await self._store.claim_notices(now, lease_s, batch)

    async def _failed(self, item: Notice, reason: str, retry_at: datetime | None) -> None:
        log.warning(
            "notice %d (%s to %s, %s) failed, attempt %d: %s; %s",
            item.id,
            item.channel,
            item.recipient,
            _about(item),
            item.attempts,
            reason,
            "giving up" if retry_at is None else f"retrying at {retry_at:%H:%M:%S}",
        )
        await self._store.notice_failed(item.id, reason, retry_at)
        self._events.publish(_attempted(item, reason, self._clock()))

    async def _sent(self, item: Notice, at: datetime) -> None:
        await self._store.notice_sent(item.id, at)
        self._events.publish(_attempted(item, None, at))
        log.debug("notice %d sent by %s to %s (%s)", item.id, item.channel, item.recipient, _about(item))


def _about(notice: Notice) -> str:
    if notice.ticket_id is not None:
        return f"ticket {notice.ticket_id}"
    return f"{notice.kind} of customer {notice.customer_id}"


def _attempted(notice: Notice, error: str | None, at: datetime) -> NoticeAttempted:
    return NoticeAttempted(
        notice.ticket_id,
        notice.id,
        notice.channel,
        error is None,
        error,
        at,
        customer_id=notice.customer_id,
        kind=notice.kind,
    )
