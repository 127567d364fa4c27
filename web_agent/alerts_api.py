"""Alarms over HTTP and the WebSocket: the alert feed, ack and snooze, escalated tickets, watched customers.

Supervisors see every alert and act on any; an agent sees and acts only on alerts addressed to
them. A new alert reaches the browsers as an `alert_raised` event (the live channel of the
outbox); a change of one (acknowledged, snoozed, a delivery sent or failed) as `alert_changed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from agents import Agent, Role
from tickets import AlarmService, AlertView, EscalatedTicket, WatchedCustomer
from web_agent.api import ANY_ROLE, MAX_ID, SUPERVISORS, json_object, require, text_field
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError

MAX_SNOOZE_MIN = 7 * 24 * 60
_ID = r"{id:\d{1,18}}"


@dataclass(frozen=True)
class AlarmWebServices:
    """What the alarm endpoints need, built by hotline/app.py."""

    alarms: AlarmService
    now: Callable[[], datetime]


ALARMS = web.AppKey("alarms", AlarmWebServices)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(view: AlertView) -> dict[str, Any]:
    """An alert with the status of each of its deliveries."""
    a = view.alert
    return {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "ticket_id": a.ticket_id,
        "customer_id": a.customer_id,
        "level": a.level,
        "role": a.role,
        "recipient": a.recipient_name,
        "agent_id": a.agent_id,
        "raised_at": a.raised_at.isoformat(),
        "acknowledged_at": _time(a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by,
        "snoozed_until": _time(a.snoozed_until),
        "deliveries": [
            {
                "id": d["id"],
                "channel": d["channel"],
                "recipient": d["recipient"],
                "status": d["status"],
                "attempts": d["attempts"],
                "last_error": d["last_error"],
                "next_attempt_at": d["next_attempt_at"],
                "sent_at": d["sent_at"],
            }
            for d in view.deliveries
        ],
    }


def escalated_json(row: EscalatedTicket, now: datetime) -> dict[str, Any]:
    """A ticket on the ladder, with how long it is past its breach."""
    return {
        "ticket_id": row.ticket_id,
        "subject": row.subject,
        "status": row.status,
        "priority": row.priority,
        "customer_name": row.customer_name,
        "department": row.department,
        "assignee_id": row.assignee_id,
        "breached_at": row.breached_at.isoformat(),
        "past_breach_s": max(0, int((now - row.breached_at).total_seconds())),
        "level": row.level,
        "acknowledged_at": _time(row.acknowledged_at),
        "snoozed_until": _time(row.snoozed_until),
    }


def watched_json(row: WatchedCustomer) -> dict[str, Any]:
    """A watched customer and their owner."""
    return {
        "customer_id": row.customer_id,
        "customer_name": row.customer_name,
        "customer_tier": row.customer_tier,
        "owner_agent_id": row.owner_agent_id,
        "owner_name": row.owner_name,
        "owner_email": row.owner_email,
        "note": row.note,
        "watched_at": row.watched_at.isoformat(),
    }


def _number(body: dict[str, Any], name: str, *, low: int, high: int, required: bool) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailedError({name: f"a whole number from {low} to {high}"})
    return value


def _own_only(agent: Agent) -> bool:
    return agent.role is Role.AGENT


def add_alarm_routes(app: web.Application, services: AlarmWebServices) -> None:
    """Register the alarm endpoints and the /supervisor page."""
    app[ALARMS] = services
    alarms = services.alarms

    @require(*ANY_ROLE)
    async def list_alerts(request: web.Request, agent: Agent) -> web.Response:
        """The newest alerts (an agent's own only)."""
        raw = request.query.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 200:
            raise ValidationFailedError({"limit": "a whole number from 1 to 200"})
        views = await alarms.feed(agent_id=agent.id if _own_only(agent) else None, limit=int(raw))
        return web.json_response({"alerts": [alert_json(v) for v in views]})

    @require(*ANY_ROLE)
    async def get_alert(request: web.Request, agent: Agent) -> web.Response:
        """One alert with its deliveries."""
        view = await alarms.alert(int(request.match_info["id"]), agent.id if _own_only(agent) else None)
        return web.json_response({"alert": alert_json(view)})

    @require(*ANY_ROLE)
    async def acknowledge(request: web.Request, agent: Agent) -> web.Response:
        """Take the alert on: its ticket climbs the ladder no further."""
        view = await alarms.acknowledge(int(request.match_info["id"]), agent.id, own_only=_own_only(agent))
        return web.json_response({"alert": alert_json(view)})

    @require(*ANY_ROLE)
    async def snooze(request: web.Request, agent: Agent) -> web.Response:
        """Put the alert off for `minutes` (the policy's default when absent)."""
        body = await json_object(request) if request.can_read_body else {}
        minutes = _number(body, "minutes", low=1, high=MAX_SNOOZE_MIN, required=False)
        view = await alarms.snooze(
            int(request.match_info["id"]),
            agent.id,
            minutes * 60 if minutes is not None else None,
            own_only=_own_only(agent),
        )
        return web.json_response({"alert": alert_json(view)})

    @require(*SUPERVISORS)
    async def escalations(request: web.Request, agent: Agent) -> web.Response:
        """Open tickets past a breach, longest past it first."""
        now = services.now()
        rows = await alarms.escalated()
        return web.json_response({"escalations": [escalated_json(r, now) for r in rows]})

    @require(*SUPERVISORS)
    async def watched(request: web.Request, agent: Agent) -> web.Response:
        """Every watched customer and their owner."""
        return web.json_response({"watched": [watched_json(w) for w in await alarms.watched()]})

    @require(*SUPERVISORS)
    async def watch(request: web.Request, agent: Agent) -> web.Response:
        """Watch a customer: their new tickets and repeated calls alert the owner at once."""
        body = await json_object(request)
        customer_id = _number(body, "customer_id", low=1, high=MAX_ID, required=True)
        owner = _number(body, "owner_agent_id", low=1, high=MAX_ID, required=True)
        email = text_field(body, "owner_email", required=False, max_len=254).strip() or None
        if email is not None and ("@" not in email or any(c in email for c in "\r\n ,;<>")):
            raise ValidationFailedError({"owner_email": "one email address, or null"})
        note = text_field(body, "note", required=False, max_len=500)
        assert customer_id is not None
        assert owner is not None
        row = await alarms.watch(customer_id, owner, email, note, agent.id)
        return web.json_response({"watched": watched_json(row)}, status=201)

    @require(*SUPERVISORS)
    async def unwatch(request: web.Request, agent: Agent) -> web.Response:
        """Stop watching a customer."""
        await alarms.unwatch(int(request.match_info["id"]))
        return web.Response(status=204)

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "supervisor.html")

    app.router.add_get("/api/alerts", list_alerts)
    app.router.add_get(f"/api/alerts/{_ID}", get_alert)
    app.router.add_post(f"/api/alerts/{_ID}/ack", acknowledge)
    app.router.add_post(f"/api/alerts/{_ID}/snooze", snooze)
    app.router.add_get("/api/escalations", escalations)
    app.router.add_get("/api/watched-customers", watched)
    app.router.add_post("/api/watched-customers", watch)
    app.router.add_delete(f"/api/watched-customers/{_ID}", unwatch)
    app.router.add_get("/supervisor", page)
