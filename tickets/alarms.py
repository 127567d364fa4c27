"""Escalation alarms at work: the sweep over due tickets, the delivery outbox, acks, snoozes and watches.

`EscalationSweeper.run_once` is what the scheduler calls on every node: it claims due tickets
(lease + SKIP LOCKED), evaluates them with the pure rules of `tickets.escalation`, and stores the
steps that came due together with one delivery row per channel. `AlertDispatcher` drains those
rows (live feed, email, webhook); a failure is retried with the notices' backoff and finally
shown as failed. `AlarmService` is what the web layer calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, Unpack

from tickets.errors import AlertNotFoundError, CustomerNotWatchableError
from tickets.escalation import (
    Alarm,
    AlertKind,
    EscalationPolicy,
    WatchOwner,
    evaluate,
    repeated_calls_alarm,
)
from tickets.escalation_store import (
    Alert,
    AlertDelivery,
    AlertView,
    DueTicket,
    EscalatedTicket,
    EscalationStore,
    SweptTicket,
    Watch,
    alarm_key,
)
from tickets.events import (
    AlertAcknowledged,
    AlertDeliveryAttempted,
    AlertRaised,
    AlertSnoozed,
    EventSink,
    TicketEscalated,
)
from tickets.notify import NoticeChannel, OutboxDispatcher, OutboxLimits
from tickets.ports import AgentDirectory, CustomersById, LoggedCall
from tickets.store import Notice
from tickets.webhook import WebhookSettings

log = logging.getLogger(__name__)

# A watch made or dropped on another node reaches this node's repeated-call check within this long.
WATCHES_TTL_S = 30.0

LIVE, EMAIL, WEBHOOK = "live", "email", "webhook"
LIVE_AUDIENCE = "supervisors"
# Kinds that reach people outside the live feed (mail, the webhook): breaches, not early warnings.
_LOUD = frozenset(
    {
        AlertKind.BREACH,
        AlertKind.OVERDUE,
        AlertKind.ESCALATION,
        AlertKind.CUSTOMER_TICKET,
        AlertKind.CUSTOMER_CALLS,
    }
)
_EMAILED = frozenset({AlertKind.ESCALATION, AlertKind.CUSTOMER_TICKET, AlertKind.CUSTOMER_CALLS})


@dataclass(frozen=True)
class AlarmSettings:
    """The escalation policy, how often the sweep runs, and where the webhook goes (if anywhere)."""

    policy: EscalationPolicy
    sweep_interval_s: float = 15.0
    webhook: WebhookSettings | None = None

    @property
    def plan(self) -> DeliveryPlan:
        """Every alert on the live feed; email (SMTP or the log) for the ranks; the webhook if configured."""
        return DeliveryPlan(email=True, webhook_url=self.webhook.url if self.webhook else None)


class AlertChannel(Protocol):
    """A way to deliver an alert: the live feed, email, a webhook."""

    @property
    def name(self) -> str:
        """Stored with each delivery (`live`, `email`, `webhook`)."""
        ...

    async def deliver(self, delivery: AlertDelivery) -> None:
        """Send one delivery; raise NoticeDeliveryError (or OSError) when it did not go out."""
        ...


@dataclass(frozen=True, slots=True)
class WatchedCustomer:
    """A customer whose tickets and calls alert `owner` at once, with the names people read."""

    customer_id: int
    customer_name: str
    customer_tier: str
    owner_agent_id: int
    owner_name: str
    owner_email: str | None
    note: str
    watched_at: datetime


class CallCounter(Protocol):
    """Port: how many calls a customer made since an instant (the call log)."""

    async def calls_since(self, customer_id: int, since: datetime) -> int:
        """Calls of `customer_id` started at or after `since`."""
        ...


def render_alert_email(alert: Alert) -> tuple[str, str]:
    """Subject and plain-text body of an alert sent by email."""
    subject = f"Hotline alert: {alert.title}"
    lines = [alert.title, ""]
    if alert.ticket_id is not None:
        lines.append(f"Ticket: #{alert.ticket_id}")
    if alert.level:
        lines.append(f"Escalation level: {alert.level} ({(alert.role or '').replace('_', ' ')})")
    lines += [
        f"Raised at: {alert.raised_at:%Y-%m-%d %H:%M} UTC",
        "",
        "Acknowledge it on the supervisor page (/supervisor) to stop further escalation.",
    ]
    return subject, "\n".join(lines) + "\n"


class EmailAlertChannel:
    """Alerts by email through a notice channel (SMTP, or the log when no server is configured)."""

    name = EMAIL

    def __init__(self, email: NoticeChannel) -> None:
        self._email = email

    async def deliver(self, delivery: AlertDelivery) -> None:
        """Send the alert to the delivery's address."""
        subject, body = render_alert_email(delivery.alert)
        await self._email.deliver(
            Notice(
                id=delivery.id,
                ticket_id=delivery.alert.ticket_id,
                customer_id=delivery.alert.customer_id,
                kind=f"alert_{delivery.alert.kind}",
                channel=EMAIL,
                recipient=delivery.recipient,
                subject=subject,
                body=body,
                attempts=delivery.attempts,
            )
        )


@dataclass(frozen=True)
class DeliveryPlan:
    """Which channels this node delivers on: the live feed always, email and a webhook if configured."""

    email: bool = True
    webhook_url: str | None = None

    def deliveries(self, alarm: Alarm) -> list[tuple[str, str]]:
        """(channel, recipient) of every delivery an alarm gets."""
        plan = [(LIVE, LIVE_AUDIENCE)]
        if self.email and alarm.kind in _EMAILED and alarm.recipient and alarm.recipient.email:
            plan.append((EMAIL, alarm.recipient.email))
        if self.webhook_url and alarm.kind in _LOUD:
            plan.append((WEBHOOK, self.webhook_url))
        return plan


class EscalationSweeper:
    """One sweep over the due tickets; safe to run on several nodes at once."""

    def __init__(
        self,
        store: EscalationStore,
        policy: EscalationPolicy,
        plan: DeliveryPlan,
        clock: Callable[[], datetime],
        events: EventSink,
        *,
        agents: AgentDirectory,
        lease_s: float = 120.0,
        batch: int = 500,
        writers: int = 2,
        raised: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._plan = plan
        self._clock = clock
        self._events = events
        self._agents = agents
        self._lease_s = lease_s
        self._batch = batch
        self._writers = writers
        self._raised = raised

    async def run_once(self) -> int:
        """Evaluate every ticket due now; return how many were looked at.

        Up to `writers` batches are written back while the next is claimed and evaluated: the
        writes are most of the work, and each batch's tickets are its own (claimed), so the
        batches can be stored side by side on their own connections.
        """
        looked_at = 0
        writing: deque[asyncio.Task[list[Alert]]] = deque()
        try:
            while True:
                now = self._clock()
                due = await self._store.claim_due(now, self._lease_s, self._batch)
                swept, deliveries = await self._evaluate(due, now)
                if len(writing) == self._writers:
                    self._announce(await writing.popleft())
                if due:
                    looked_at += len(due)
                    writing.append(asyncio.ensure_future(self._store.finish_sweep(swept, deliveries, now)))
                if len(due) < self._batch:
                    while writing:
                        self._announce(await writing.popleft())
                    return looked_at
        finally:
            for task in writing:
                task.cancel()
            await asyncio.gather(*writing, return_exceptions=True)

    async def _evaluate(
        self, due: list[DueTicket], now: datetime
    ) -> tuple[list[SweptTicket], dict[str, list[tuple[str, str]]]]:
        names = await self._agents.display_names({d.owner_agent_id for d in due if d.owner_agent_id})
        results = [
            (item, evaluate(self._policy, item.ticket, item.state, now, _owner(item, names))) for item in due
        ]
        accounts = await _accounts(self._agents, [a for _, result in results for a in result.alarms])
        swept: list[SweptTicket] = []
        deliveries: dict[str, list[tuple[str, str]]] = {}
        for item, result in results:
            alarms = tuple(_addressed(alarm, accounts) for alarm in result.alarms)
            for alarm in alarms:
                deliveries[alarm_key(alarm, ticket_id=item.ticket.ticket_id)] = self._plan.deliveries(alarm)
            swept.append(
                SweptTicket(
                    item.ticket.ticket_id,
                    item.ticket.customer_id,
                    item.leased_until,
                    result.state,
                    result.next_check_at,
                    alarms,
                )
            )
        return swept, deliveries

    def _announce(self, stored: list[Alert]) -> None:
        for alert in stored:
            self._events.publish(
                AlertRaised(
                    alert.id, alert.kind, alert.title, alert.ticket_id, alert.customer_id, alert.agent_id
                )
            )
            if alert.kind == AlertKind.ESCALATION.value and alert.ticket_id is not None:
                self._events.publish(
                    TicketEscalated(
                        alert.ticket_id, alert.id, alert.level, alert.role or "", alert.recipient_name
                    )
                )
            log.debug("alert %d raised: %s", alert.id, alert.title)
        if len(stored) == 1:
            log.info("alert %d raised: %s", stored[0].id, stored[0].title)
        elif stored:
            # A sweep after downtime raises many at once: one line, the details at DEBUG.
            tickets = sorted({f"#{a.ticket_id}" for a in stored if a.ticket_id is not None})
            log.info(
                "%d alerts raised (tickets %s); the supervisor page lists them",
                len(stored),
                ", ".join(tickets),
            )
        if stored:
            self._raised()


class AlertDispatcher(OutboxDispatcher[AlertDelivery]):
    """Drains the alert outbox (live feed, email, webhook) through the configured channels."""

    items = "alerts"

    def __init__(
        self,
        store: EscalationStore,
        channels: Mapping[str, AlertChannel],
        clock: Callable[[], datetime],
        events: EventSink,
        **limits: Unpack[OutboxLimits],
    ) -> None:
        super().__init__(channels, clock, **limits)
        self._store = store
        self._events = events

    async def _claim(self, now: datetime, lease_s: float, batch: int) -> Sequence[AlertDelivery]:
        return await self._store.claim_deliveries(now, lease_s, batch)

    async def _failed(self, item: AlertDelivery, reason: str, retry_at: datetime | None) -> None:
        log.warning(
            "alert %d: %s delivery to %s failed, attempt %d: %s; %s",
            item.alert.id,
            item.channel,
            item.recipient,
            item.attempts,
            reason,
            "giving up" if retry_at is None else f"retrying at {retry_at:%H:%M:%S}",
        )
        await self._store.delivery_failed(item.id, reason, retry_at)
        self._events.publish(
            AlertDeliveryAttempted(item.alert.id, item.id, item.channel, False, reason, retry_at is None)
        )

    async def _sent(self, item: AlertDelivery, at: datetime) -> None:
        await self._store.delivery_sent(item.id, at)
        self._events.publish(AlertDeliveryAttempted(item.alert.id, item.id, item.channel, True, None))


class AlarmService:
    """What people do with alarms: read the feed, acknowledge, snooze, watch customers; calls come in here."""

    def __init__(
        self,
        store: EscalationStore,
        policy: EscalationPolicy,
        plan: DeliveryPlan,
        calls: CallCounter,
        clock: Callable[[], datetime],
        events: EventSink,
        *,
        agents: AgentDirectory,
        customers: CustomersById,
        raised: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._policy = policy
        self._monotonic = monotonic
        # The watches by customer, for the check on every known caller's call: read again when
        # WATCHES_TTL_S old, and at once after a watch changes here.
        self._watches: dict[int, Watch] = {}
        self._watches_read_at: float | None = None
        self._plan = plan
        self._agents = agents
        self._customers = customers
        self._calls = calls
        self._clock = clock
        self._events = events
        self._raised = raised

    @property
    def snooze_default_s(self) -> int:
        """The snooze used when none is asked for."""
        return self._policy.snooze_default_s

    async def feed(self, *, agent_id: int | None, limit: int = 50) -> list[AlertView]:
        """The newest alerts; only those addressed to `agent_id` when given (an agent's own)."""
        return await self._store.alerts(agent_id=agent_id, limit=limit)

    async def alert(self, alert_id: int, agent_id: int | None) -> AlertView:
        """One alert; with `agent_id`, only if it is addressed to that agent (else AlertNotFoundError)."""
        view = await self._store.alert(alert_id)
        if agent_id is not None and view.alert.agent_id != agent_id:
            # Not addressed to this agent: as if it did not exist.
            raise AlertNotFoundError(alert_id)
        return view

    async def acknowledge(self, alert_id: int, by: int, *, own_only: bool) -> AlertView:
        """Take the alert on: its ticket climbs no further. `own_only`: the caller must be its addressee."""
        await self.alert(alert_id, by if own_only else None)
        alert = await self._store.acknowledge(alert_id, by, self._clock())
        self._events.publish(AlertAcknowledged(alert.id, alert.ticket_id, by))
        return await self._store.alert(alert_id)

    async def snooze(self, alert_id: int, by: int, snooze_s: int | None, *, own_only: bool) -> AlertView:
        """Put the alert off for `snooze_s` (the policy's default when None, capped at its maximum)."""
        await self.alert(alert_id, by if own_only else None)
        until = self._clock() + timedelta(seconds=self._policy.snooze_s(snooze_s))
        alert = await self._store.snooze(alert_id, until, self._clock())
        self._events.publish(AlertSnoozed(alert.id, alert.ticket_id, by, until))
        return await self._store.alert(alert_id)

    async def escalated(self, limit: int = 100) -> list[EscalatedTicket]:
        """Open tickets past a breach, longest past it first."""
        return await self._store.escalated_tickets(limit)

    async def watched(self) -> list[WatchedCustomer]:
        """Every watched customer with their owner, by customer name."""
        return await self._described(await self._store.watched())

    async def watch(
        self, customer_id: int, owner_agent_id: int, owner_email: str | None, note: str, by: int
    ) -> WatchedCustomer:
        """Alert `owner_agent_id` at once about the customer's new tickets and repeated calls."""
        watch = await self._store.watch(customer_id, owner_agent_id, owner_email, note, by, self._clock())
        self._watches_read_at = None
        (watched,) = await self._described([watch])
        return watched

    async def _described(self, watches: Sequence[Watch]) -> list[WatchedCustomer]:
        customers = await self._customers.find_many({w.customer_id for w in watches})
        names = await self._agents.display_names({w.owner_agent_id for w in watches})
        described = [
            WatchedCustomer(
                w.customer_id,
                customer.name,
                customer.tier,
                w.owner_agent_id,
                names.get(w.owner_agent_id, ""),
                w.owner_email,
                w.note,
                w.watched_at,
            )
            for w in watches
            if (customer := customers.get(w.customer_id)) is not None
        ]
        return sorted(described, key=lambda w: (w.customer_name, w.customer_id))

    async def unwatch(self, customer_id: int) -> None:
        """Stop watching; CustomerNotWatchableError when the customer was not watched."""
        self._watches_read_at = None
        if not await self._store.unwatch(customer_id):
            raise CustomerNotWatchableError(customer_id, "they are not watched")

    async def call_logged(self, event: LoggedCall) -> None:
        """A known customer's call is logged: a watched or top-tier customer calling again and again alerts the owner."""
        if event.customer_id is None or event.customer_name is None:
            return
        top_tier = event.customer_tier is not None and self._policy.sla.is_top_tier(event.customer_tier)
        await self.customer_called(event.customer_id, event.customer_name, top_tier)

    async def _current_watches(self) -> dict[int, Watch]:
        now = self._monotonic()
        if self._watches_read_at is None or not 0 <= now - self._watches_read_at < WATCHES_TTL_S:
            self._watches = {w.customer_id: w for w in await self._store.watched()}
            self._watches_read_at = now
        return self._watches

    async def customer_called(self, customer_id: int, customer_name: str, top_tier: bool) -> Alert | None:
        """A known customer called: alert the owner once when a watched or top-tier customer keeps calling."""
        now = self._clock()
        watch = (await self._current_watches()).get(customer_id)
        if watch is None and not top_tier:
            return None
        owner = None
        if watch is not None:
            names = await self._agents.display_names([watch.owner_agent_id])
            owner = WatchOwner(watch.owner_agent_id, names.get(watch.owner_agent_id, ""), watch.owner_email)
        since = now - timedelta(seconds=self._policy.repeat_window_s)
        calls = await self._calls.calls_since(customer_id, since)
        found = repeated_calls_alarm(self._policy, customer_name, calls, top_tier, owner, now)
        if found is None:
            return None
        alarm = _addressed(found, await _accounts(self._agents, [found]))
        alert = await self._store.raise_customer_alarm(customer_id, alarm, self._plan.deliveries(alarm), now)
        if alert is not None:
            self._events.publish(
                AlertRaised(
                    alert.id, alert.kind, alert.title, alert.ticket_id, alert.customer_id, alert.agent_id
                )
            )
            log.info("alert %d raised: %s", alert.id, alert.title)
            self._raised()
        return alert


def _owner(item: DueTicket, names: Mapping[int, str]) -> WatchOwner | None:
    """The watch owner of a claimed ticket's customer, named, or None when the customer is not watched."""
    if item.owner_agent_id is None:
        return None
    return WatchOwner(item.owner_agent_id, names.get(item.owner_agent_id, ""), item.owner_email)


def _username(alarm: Alarm) -> str | None:
    """The account the policy names for an alarm's recipient, when the alarm is not addressed yet."""
    return alarm.recipient.username if alarm.agent_id is None and alarm.recipient else None


async def _accounts(agents: AgentDirectory, alarms: Sequence[Alarm]) -> dict[str, int]:
    """The account ids of the usernames the alarms' recipients go by (one look-up, none when no alarm needs it)."""
    usernames = {name for name in map(_username, alarms) if name}
    return await agents.ids_for_usernames(usernames) if usernames else {}


def _addressed(alarm: Alarm, accounts: Mapping[str, int]) -> Alarm:
    """The alarm addressed to its recipient's account (seen live by them), if they have one."""
    username = _username(alarm)
    return replace(alarm, agent_id=accounts.get(username)) if username else alarm
