"""Alarms over HTTP and the WebSocket: the alert feed, ack and snooze, escalated tickets, watched customers.

Supervisors see every alert and act on any; an agent sees and acts only on alerts addressed to
them. A new alert reaches the browsers as an `alert_raised` event (the live channel of the
outbox); a change of one (acknowledged, snoozed, a delivery sent or failed) as `alert_changed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from aiohttp import web

from agents import Agent, Role
from tickets import AlarmService, EscalatedTicket, WatchedCustomer
from tickets import AlertView as StoredAlert
from web_agent.api import ANY_ROLE, SUPERVISORS
from web_agent.app import STATIC_DIR
from web_agent.routes import Id, IdPath, Instant, JsonBody, QueryString, Reply, Routes, iso, stripped

MAX_SNOOZE_MIN = 7 * 24 * 60
ROUTES = Routes("alerts")


@dataclass(frozen=True)
class AlarmWebServices:
    """What the alarm endpoints need, built by hotline/app.py."""

    alarms: AlarmService
    now: Callable[[], datetime]


ALARMS = web.AppKey("alarms", AlarmWebServices)


class DeliveryView(Reply):
    """One channel of an alert and how its delivery went."""

    id: int
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: Instant | None
    sent_at: Instant | None


class AlertView(Reply):
    """An alert with the status of each of its deliveries."""

    id: int
    kind: str
    title: str
    ticket_id: int | None
    customer_id: int | None
    level: int
    role: str | None
    recipient: str | None
    agent_id: int | None
    raised_at: Instant
    acknowledged_at: Instant | None
    acknowledged_by: int | None
    snoozed_until: Instant | None
    deliveries: list[DeliveryView]

    @classmethod
    def of(cls, view: StoredAlert) -> AlertView:
        """The view of a stored alert and its deliveries."""
        a = view.alert
        return cls(
            id=a.id,
            kind=a.kind,
            title=a.title,
            ticket_id=a.ticket_id,
            customer_id=a.customer_id,
            level=a.level,
            role=a.role,
            recipient=a.recipient_name,
            agent_id=a.agent_id,
            raised_at=a.raised_at.isoformat(),
            acknowledged_at=iso(a.acknowledged_at),
            acknowledged_by=a.acknowledged_by,
            snoozed_until=iso(a.snoozed_until),
            deliveries=[msgspec.convert(d, DeliveryView) for d in view.deliveries],
        )


class EscalationView(Reply):
    """A ticket on the ladder, with how long it is past its breach."""

    ticket_id: int
    subject: str
    status: str
    priority: str
    customer_name: str
    department: str | None
    assignee_id: int | None
    breached_at: Instant
    past_breach_s: int
    level: int
    acknowledged_at: Instant | None
    snoozed_until: Instant | None

    @classmethod
    def of(cls, row: EscalatedTicket, now: datetime) -> EscalationView:
        """The view of an escalated ticket at `now`."""
        return cls(
            ticket_id=row.ticket_id,
            subject=row.subject,
            status=row.status,
            priority=row.priority,
            customer_name=row.customer_name,
            department=row.department,
            assignee_id=row.assignee_id,
            breached_at=row.breached_at.isoformat(),
            past_breach_s=max(0, int((now - row.breached_at).total_seconds())),
            level=row.level,
            acknowledged_at=iso(row.acknowledged_at),
            snoozed_until=iso(row.snoozed_until),
        )


class WatchedView(Reply):
    """A watched customer and their owner."""

    customer_id: int
    customer_name: str
    customer_tier: str
    owner_agent_id: int
    owner_name: str
    owner_email: str | None
    note: str
    watched_at: Instant

    @classmethod
    def of(cls, row: WatchedCustomer) -> WatchedView:
        """The view of a watched customer."""
        return cls(
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            customer_tier=row.customer_tier,
            owner_agent_id=row.owner_agent_id,
            owner_name=row.owner_name,
            owner_email=row.owner_email,
            note=row.note,
            watched_at=row.watched_at.isoformat(),
        )


def _own_only(agent: Agent) -> bool:
    return agent.role is Role.AGENT


def _alarms(request: web.Request) -> AlarmService:
    return request.app[ALARMS].alarms


class AlertQuery(QueryString):
    """How many alerts."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=200, description="the newest so many")] = 50


class AlertList(Reply):
    """The newest alerts."""

    alerts: list[AlertView]


class AlertReply(Reply):
    """One alert."""

    alert: AlertView


@ROUTES.get("/api/alerts", roles=ANY_ROLE)
async def list_alerts(request: web.Request, agent: Agent, *, query: AlertQuery) -> AlertList:
    """The newest alerts with each delivery's status (an agent sees only alerts addressed to them)."""
    views = await _alarms(request).feed(agent_id=agent.id if _own_only(agent) else None, limit=query.limit)
    return AlertList([AlertView.of(v) for v in views])


@ROUTES.get("/api/alerts/{id}", roles=ANY_ROLE, errors=("alerts.not_found",))
async def get_alert(request: web.Request, agent: Agent, *, path: IdPath) -> AlertReply:
    """One alert with its deliveries."""
    view = await _alarms(request).alert(path.id, agent.id if _own_only(agent) else None)
    return AlertReply(AlertView.of(view))


@ROUTES.post("/api/alerts/{id}/ack", roles=ANY_ROLE, errors=("alerts.not_found",))
async def acknowledge(request: web.Request, agent: Agent, *, path: IdPath) -> AlertReply:
    """Acknowledge an alert: its ticket climbs the escalation ladder no further."""
    view = await _alarms(request).acknowledge(path.id, agent.id, own_only=_own_only(agent))
    return AlertReply(AlertView.of(view))


class SnoozeBody(JsonBody):
    """How long to put the alert off."""

    minutes: (
        Annotated[int, msgspec.Meta(ge=1, le=MAX_SNOOZE_MIN, description="the policy's default when absent")]
        | None
    ) = None


@ROUTES.post("/api/alerts/{id}/snooze", roles=ANY_ROLE, errors=("alerts.not_found",), body_optional=True)
async def snooze(request: web.Request, agent: Agent, *, path: IdPath, body: SnoozeBody) -> AlertReply:
    """Snooze an alert: its ticket climbs no further until the snooze ends."""
    snooze_s = body.minutes * 60 if body.minutes is not None else None
    view = await _alarms(request).snooze(path.id, agent.id, snooze_s, own_only=_own_only(agent))
    return AlertReply(AlertView.of(view))


class EscalationList(Reply):
    """Open tickets past a breach, longest past it first."""

    escalations: list[EscalationView]


@ROUTES.get("/api/escalations", roles=SUPERVISORS)
async def escalations(request: web.Request, agent: Agent) -> EscalationList:
    """Open tickets past a breach, longest past it first."""
    now = request.app[ALARMS].now()
    rows = await _alarms(request).escalated()
    return EscalationList([EscalationView.of(r, now) for r in rows])


class WatchedList(Reply):
    """Every watched customer."""

    watched: list[WatchedView]


class WatchedReply(Reply):
    """One watched customer."""

    watched: WatchedView


@ROUTES.get("/api/watched-customers", roles=SUPERVISORS)
async def watched(request: web.Request, agent: Agent) -> WatchedList:
    """Watched customers and their owners."""
    return WatchedList([WatchedView.of(w) for w in await _alarms(request).watched()])


class WatchBody(JsonBody):
    """Whom to watch, who owns them, where to write to the owner, and why."""

    customer_id: Id
    owner_agent_id: Id
    owner_email: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=254,
                pattern=r"^\s*(?:[^\s,;<>]*@[^\s,;<>]*)?\s*$",
                extra={"expected": "one email address, or null"},
            ),
        ]
        | None
    ) = None
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


@ROUTES.post(
    "/api/watched-customers", roles=SUPERVISORS, status=201, errors=("alerts.customer_not_watchable",)
)
async def watch(request: web.Request, agent: Agent, *, body: WatchBody) -> WatchedReply:
    """Watch a customer: new tickets and repeated calls alert the owner at once."""
    row = await _alarms(request).watch(
        body.customer_id, body.owner_agent_id, stripped(body.owner_email), body.note or "", agent.id
    )
    return WatchedReply(WatchedView.of(row))


@ROUTES.delete(
    "/api/watched-customers/{id}", roles=SUPERVISORS, status=204, errors=("alerts.customer_not_watchable",)
)
async def unwatch(request: web.Request, agent: Agent, *, path: IdPath) -> None:
    """Stop watching a customer."""
    await _alarms(request).unwatch(path.id)


async def supervisor_page(request: web.Request) -> web.FileResponse:
    """GET /supervisor: the supervisors' alarm page."""
    return web.FileResponse(STATIC_DIR / "supervisor.html")


def add_alarm_routes(app: web.Application, services: AlarmWebServices) -> None:
    """Register the alarm endpoints and the /supervisor page."""
    app[ALARMS] = services
    ROUTES.add_to(app)
    app.router.add_get("/supervisor", supervisor_page)
