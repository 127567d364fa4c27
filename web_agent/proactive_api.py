"""Proactive service and service reports on the web.

    GET  /api/callbacks                    the agent's open callbacks (promised by or popped for them)
    POST /api/callbacks                    promise a callback {number, due_at?, note?, customer_id?}
    POST /api/callbacks/{id}/dial          call the customer back now (click-to-dial), marks it done
    POST /api/callbacks/{id}/done          {cancelled?}: called back another way, or called off
    POST /api/calls/dial                   click-to-dial {number}: an Originate from the agent's phone
    PUT  /api/customers/{id}/special-days  {anniversary, greetings_opt_out}
    GET  /api/reports/volume               tickets per day, category and channel      (supervisors)
    GET  /api/reports/workload             per handler: open, resolved, average handling time
    GET  /api/reports/service-times        per category: first response, resolution, reopen rate
    GET  /api/reports/distribution         tickets per category and customer tier
    GET  /reports                          the supervisors' report page with charts

Reports take `from` and `to` (local calendar days, both included; default the last 30 days).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from agents import Agent
from cti import Callback, CallbackNotFoundError, CallbackService, ClickToDial
from customers import CustomerService
from tickets import TicketReports
from web_agent.api import ANY_ROLE, MAX_ID, SERVICES, SUPERVISORS, json_object, require, text_field
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError

log = logging.getLogger(__name__)

MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True)
class ProactiveServices:
    """What these routes need, built by hotline/app.py."""

    callbacks: CallbackService
    click_to_dial: ClickToDial
    reports: TicketReports
    customers: CustomerService
    display_names: Callable[[Collection[int]], Awaitable[dict[int, str]]]
    timezone: str


PROACTIVE = web.AppKey("proactive", ProactiveServices)


def callback_json(callback: Callback) -> dict[str, Any]:
    """A callback as the desktop shows it."""
    return {
        "id": callback.id,
        "customer_id": callback.customer_id,
        "customer_name": callback.customer_name,
        "number": callback.phone,
        "due_at": callback.due_at.isoformat(),
        "note": callback.note,
        "requested_by": callback.requested_by,
        "agent_id": callback.agent_id,
        "status": callback.status.value,
        "offered_to": list(callback.offered_to),
        "to_team": callback.to_team,
    }


def _interface(agent: Agent) -> str:
    if not agent.interfaces:
        raise ValidationFailedError({"agent": "you have no phone interface to call from"})
    return agent.interfaces[0]


def _callback_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if not 1 <= value <= MAX_ID:
        raise CallbackNotFoundError(value)
    return value


def _due_at(body: dict[str, Any]) -> datetime | None:
    raw = body.get("due_at")
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValidationFailedError({"due_at": "an ISO 8601 date and time with its offset"})
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailedError({"due_at": "an ISO 8601 date and time with its offset"}) from None
    if when.tzinfo is None:
        raise ValidationFailedError({"due_at": "include the time zone offset"})
    return when


def _optional_id(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise ValidationFailedError({name: "an id (a positive whole number) or null"})
    return value


def _period(request: web.Request, tz: ZoneInfo, now: datetime) -> tuple[date, date, datetime, datetime]:
    """The report's first and last local day, and the [since, until) instants they span."""
    problems: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = request.query.get(name, "")
        days[name] = None
        if raw:
            try:
                days[name] = date.fromisoformat(raw) if len(raw) == 10 else None
            except ValueError:
                days[name] = None
            if days[name] is None:
                problems[name] = "a day as YYYY-MM-DD"
    if problems:
        raise ValidationFailedError(problems)
    last = days["to"] or now.astimezone(tz).date()
    first = days["from"] or last - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if first > last:
        raise ValidationFailedError({"from": "must not be after 'to'"})
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ValidationFailedError({"from": f"a period of at most {MAX_REPORT_DAYS} days"})
    since = datetime.combine(first, time(), tz)
    until = datetime.combine(last + timedelta(days=1), time(), tz)
    return first, last, since, until


def add_proactive_routes(app: web.Application, services: ProactiveServices) -> None:
    """Register the callback, click-to-dial, special-day and report routes and the /reports page."""
    app[PROACTIVE] = services
    tz = ZoneInfo(services.timezone)

    @require(*ANY_ROLE)
    async def my_callbacks(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/callbacks: the agent's open callbacks, soonest first."""
        callbacks = await services.callbacks.open_for(agent.id)
        return web.json_response({"callbacks": [callback_json(c) for c in callbacks]})

    @require(*ANY_ROLE)
    async def promise_callback(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/callbacks {number, due_at?, note?, customer_id?}: "Call back at…"."""
        body = await json_object(request)
        callback = await services.callbacks.request_callback(
            _optional_id(body, "customer_id"),
            text_field(body, "number", max_len=40),
            _due_at(body),
            text_field(body, "note", required=False, max_len=2000),
            "agent",
            agent_id=agent.id,
        )
        return web.json_response({"callback": callback_json(callback)}, status=201)

    async def _mine(callback_id: int, agent: Agent) -> Callback:
        callback = await services.callbacks.open_callback(callback_id)
        if (
            agent.role not in SUPERVISORS
            and agent.id != callback.agent_id
            and agent.id not in callback.offered_to
        ):
            # Someone else's callback is as good as absent: its number is not shown either.
            raise CallbackNotFoundError(callback_id)
        return callback

    @require(*ANY_ROLE)
    async def dial_callback(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/callbacks/{id}/dial: call the customer back from the agent's phone."""
        callback = await _mine(_callback_id(request), agent)
        done, channel_id = await services.callbacks.dial(callback.id, agent.id, _interface(agent))
        log.info("agent %s dials callback %d (%s)", agent.username, done.id, channel_id)
        return web.json_response({"callback": callback_json(done), "channel_id": channel_id}, status=202)

    @require(*ANY_ROLE)
    async def finish_callback(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/callbacks/{id}/done {cancelled?}: no dial needed any more."""
        callback = await _mine(_callback_id(request), agent)
        body = await json_object(request)
        cancelled = body.get("cancelled", False)
        if not isinstance(cancelled, bool):
            raise ValidationFailedError({"cancelled": "true or false"})
        done = await services.callbacks.finish(callback.id, agent.id, cancelled=cancelled)
        return web.json_response({"callback": callback_json(done)})

    @require(*ANY_ROLE)
    async def click_to_dial(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/calls/dial {number}: ring the customer and connect them to the agent's phone."""
        body = await json_object(request)
        number = text_field(body, "number", max_len=40).strip()
        channel_id = await services.click_to_dial.dial(_interface(agent), number)
        log.info("agent %s clicked to dial (%s)", agent.username, channel_id)
        return web.json_response({"channel_id": channel_id}, status=202)

    @require(*ANY_ROLE)
    async def special_days(request: web.Request, agent: Agent) -> web.Response:
        """PUT /api/customers/{id}/special-days {anniversary, greetings_opt_out}."""
        body = await json_object(request)
        raw = body.get("anniversary")
        anniversary = None
        if raw is not None:
            try:
                anniversary = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
            except ValueError:
                anniversary = None
            if anniversary is None or anniversary > _now(request).date():
                raise ValidationFailedError({"anniversary": "a past day as YYYY-MM-DD, or null"})
        opt_out = body.get("greetings_opt_out")
        if not isinstance(opt_out, bool):
            raise ValidationFailedError({"greetings_opt_out": "required: true or false"})
        customer_id = int(request.match_info["id"])
        await services.customers.set_special_days(
            customer_id, anniversary=anniversary, greetings_opt_out=opt_out
        )
        log.info("agent %s set the special days of customer %d", agent.username, customer_id)
        return web.json_response(
            {
                "customer_id": customer_id,
                "anniversary": None if anniversary is None else anniversary.isoformat(),
                "greetings_opt_out": opt_out,
            }
        )

    def _report(first: date, last: date, **parts: Any) -> web.Response:
        return web.json_response(
            {"from": first.isoformat(), "to": last.isoformat(), "timezone": services.timezone, **parts}
        )

    @require(*SUPERVISORS)
    async def volume_report(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/reports/volume?from&to: tickets taken in per day, category and channel."""
        first, last, since, until = _period(request, tz, _now(request))
        volume = await services.reports.volume(since, until, services.timezone)
        counts = dict(volume.by_day)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return _report(
            first,
            last,
            by_day=[{"day": d.isoformat(), "tickets": counts.get(d, 0)} for d in days],
            by_category=[{"category": c, "tickets": n} for c, n in volume.by_category],
            by_channel=[{"channel": c, "tickets": n} for c, n in volume.by_channel],
        )

    @require(*SUPERVISORS)
    async def workload_report(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/reports/workload?from&to: each handler's open and resolved tickets, handling time."""
        first, last, since, until = _period(request, tz, _now(request))
        rows = await services.reports.workload(since, until)
        names = await services.display_names([r.agent_id for r in rows])
        return _report(
            first,
            last,
            agents=[
                {
                    "agent": {"id": r.agent_id, "name": names.get(r.agent_id)},
                    "open": r.open_now,
                    "resolved": r.resolved,
                    "avg_handling_s": None if r.avg_handling_s is None else round(r.avg_handling_s),
                }
                for r in rows
            ],
        )

    @require(*SUPERVISORS)
    async def service_times_report(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/reports/service-times?from&to: per category, times to respond and resolve, reopens."""
        first, last, since, until = _period(request, tz, _now(request))
        rows = await services.reports.service_times(since, until)
        return _report(
            first,
            last,
            categories=[
                {
                    "category": r.category,
                    "tickets": r.tickets,
                    "responded": r.responded,
                    "avg_first_response_s": _seconds(r.avg_first_response_s),
                    "resolved": r.resolved,
                    "avg_resolution_s": _seconds(r.avg_resolution_s),
                    "reopened": r.reopened,
                    "reopen_rate": None if r.reopen_rate is None else round(r.reopen_rate, 4),
                }
                for r in rows
            ],
        )

    @require(*SUPERVISORS)
    async def distribution_report(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/reports/distribution?from&to: tickets per category and customer tier."""
        first, last, since, until = _period(request, tz, _now(request))
        rows = await services.reports.distribution(since, until)
        return _report(
            first, last, cells=[{"category": r.category, "tier": r.tier, "tickets": r.tickets} for r in rows]
        )

    async def reports_page(request: web.Request) -> web.FileResponse:
        """GET /reports: the supervisors' service reports (they sign in on the page)."""
        return web.FileResponse(STATIC_DIR / "reports.html", headers={"Cache-Control": "no-cache"})

    router = app.router
    router.add_get("/api/callbacks", my_callbacks)
    router.add_post("/api/callbacks", promise_callback)
    router.add_post(r"/api/callbacks/{id:\d{1,18}}/dial", dial_callback)
    router.add_post(r"/api/callbacks/{id:\d{1,18}}/done", finish_callback)
    router.add_post("/api/calls/dial", click_to_dial)
    router.add_put(r"/api/customers/{id:\d{1,18}}/special-days", special_days)
    router.add_get("/api/reports/volume", volume_report)
    router.add_get("/api/reports/workload", workload_report)
    router.add_get("/api/reports/service-times", service_times_report)
    router.add_get("/api/reports/distribution", distribution_report)
    router.add_get("/reports", reports_page)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _now(request: web.Request) -> datetime:
    # The application's clock: tests inject one.
    return request.app[SERVICES].now()
