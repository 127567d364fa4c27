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
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from aiohttp import web

from agents import Agent
from cti import Callback, CallbackNotFoundError, CallbackService, CallbackStatus, ClickToDial
from customers import CustomerService
from tickets import TicketReports
from web_agent.api import ANY_ROLE, SERVICES, SUPERVISORS
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError
from web_agent.routes import Day, Id, IdPath, Instant, JsonBody, QueryString, Reply, Routes, iso
from web_agent.shapes import Person

log = logging.getLogger(__name__)

ROUTES = Routes("proactive service")
MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30
_PBX = ("pbx.unavailable", "pbx.refused", "pbx.timeout")
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="the number to call")]


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


class CallbackView(Reply):
    """A callback as the desktop shows it."""

    id: int
    customer_id: int | None
    customer_name: str
    number: str
    due_at: Instant
    note: str
    requested_by: str
    agent_id: int | None
    status: CallbackStatus
    offered_to: list[int]
    to_team: bool

    @classmethod
    def of(cls, callback: Callback) -> CallbackView:
        """The view of a callback."""
        return cls(
            id=callback.id,
            customer_id=callback.customer_id,
            customer_name=callback.customer_name,
            number=callback.phone,
            due_at=callback.due_at.isoformat(),
            note=callback.note,
            requested_by=callback.requested_by,
            agent_id=callback.agent_id,
            status=callback.status,
            offered_to=list(callback.offered_to),
            to_team=callback.to_team,
        )


def callback_json(callback: Callback) -> dict[str, Any]:
    """The data of the `callback_due` event: the callback as the REST replies show it."""
    data: dict[str, Any] = msgspec.to_builtins(CallbackView.of(callback))
    return data


def _services(request: web.Request) -> ProactiveServices:
    return request.app[PROACTIVE]


def _interface(agent: Agent) -> str:
    if not agent.interfaces:
        raise ValidationFailedError({"agent": "you have no phone interface to call from"})
    return agent.interfaces[0]


class CallbackList(Reply):
    """Open callbacks, soonest first."""

    callbacks: list[CallbackView]


class CallbackReply(Reply):
    """One callback."""

    callback: CallbackView


@ROUTES.get("/api/callbacks", roles=ANY_ROLE)
async def my_callbacks(request: web.Request, agent: Agent) -> CallbackList:
    """The agent's open callbacks: promised by them or popped for them, soonest first."""
    callbacks = await _services(request).callbacks.open_for(agent.id)
    return CallbackList([CallbackView.of(c) for c in callbacks])


class CallbackBody(JsonBody):
    """A promised callback: the number, when (now when absent), why, and whose customer."""

    number: Number
    due_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    customer_id: Id | None = None


@ROUTES.post("/api/callbacks", roles=ANY_ROLE, status=201, errors=("customers.not_found",))
async def promise_callback(request: web.Request, agent: Agent, *, body: CallbackBody) -> CallbackReply:
    """Promise a callback ("Call back at…"): it pops on this agent's desktop when due, or the team's."""
    callback = await _services(request).callbacks.request_callback(
        body.customer_id, body.number, body.due_at, body.note or "", "agent", agent_id=agent.id
    )
    return CallbackReply(CallbackView.of(callback))


async def _mine(services: ProactiveServices, callback_id: int, agent: Agent) -> Callback:
    callback = await services.callbacks.open_callback(callback_id)
    if (
        agent.role not in SUPERVISORS
        and agent.id != callback.agent_id
        and agent.id not in callback.offered_to
    ):
        # Someone else's callback is as good as absent: its number is not shown either.
        raise CallbackNotFoundError(callback_id)
    return callback


class DialledCallback(Reply):
    """The callback, done, and the channel of the call placed."""

    callback: CallbackView
    channel_id: str


@ROUTES.post("/api/callbacks/{id}/dial", roles=ANY_ROLE, status=202, errors=("callbacks.not_found", *_PBX))
async def dial_callback(request: web.Request, agent: Agent, *, path: IdPath) -> DialledCallback:
    """Call the customer back now from the agent's phone (AMI Originate); the callback is done."""
    services = _services(request)
    callback = await _mine(services, path.id, agent)
    done, channel_id = await services.callbacks.dial(callback.id, agent.id, _interface(agent))
    log.info("agent %s dials callback %d (%s)", agent.username, done.id, channel_id)
    return DialledCallback(CallbackView.of(done), channel_id)


class DoneBody(JsonBody):
    """Called back another way, or called off (`cancelled`)."""

    cancelled: bool = False


@ROUTES.post("/api/callbacks/{id}/done", roles=ANY_ROLE, errors=("callbacks.not_found",))
async def finish_callback(
    request: web.Request, agent: Agent, *, path: IdPath, body: DoneBody
) -> CallbackReply:
    """Close a callback without dialling: called back another way, or cancelled."""
    services = _services(request)
    callback = await _mine(services, path.id, agent)
    done = await services.callbacks.finish(callback.id, agent.id, cancelled=body.cancelled)
    return CallbackReply(CallbackView.of(done))


class DialBody(JsonBody):
    """The number to ring."""

    number: Number


class Dialled(Reply):
    """The channel of the call placed."""

    channel_id: str


@ROUTES.post("/api/calls/dial", roles=ANY_ROLE, status=202, errors=_PBX)
async def click_to_dial(request: web.Request, agent: Agent, *, body: DialBody) -> Dialled:
    """Click-to-dial: ring the number, then connect it to the agent's phone (AMI Originate)."""
    channel_id = await _services(request).click_to_dial.dial(_interface(agent), body.number.strip())
    log.info("agent %s clicked to dial (%s)", agent.username, channel_id)
    return Dialled(channel_id)


_PAST_DAY = "a past day as YYYY-MM-DD, or null"


class SpecialDaysBody(JsonBody):
    """The customer's anniversary (null: none), and whether they want special-day greetings."""

    greetings_opt_out: bool
    anniversary: Annotated[date, msgspec.Meta(extra={"expected": _PAST_DAY})] | None = None


class SpecialDays(Reply):
    """The customer's special days as set."""

    customer_id: int
    anniversary: Day | None
    greetings_opt_out: bool


@ROUTES.put("/api/customers/{id}/special-days", roles=ANY_ROLE, errors=("customers.not_found",))
async def special_days(
    request: web.Request, agent: Agent, *, path: IdPath, body: SpecialDaysBody
) -> SpecialDays:
    """Set the customer's anniversary and whether they receive special-day greetings."""
    if body.anniversary is not None and body.anniversary > _now(request).date():
        raise ValidationFailedError({"anniversary": _PAST_DAY})
    await _services(request).customers.set_special_days(
        path.id, anniversary=body.anniversary, greetings_opt_out=body.greetings_opt_out
    )
    log.info("agent %s set the special days of customer %d", agent.username, path.id)
    return SpecialDays(path.id, iso(body.anniversary), body.greetings_opt_out)


class ReportPeriod(QueryString):
    """Local calendar days, both included (default: the last 30 days)."""

    from_: Annotated[date | None, msgspec.Meta(description="the first day")] = msgspec.field(
        default=None, name="from"
    )
    to: Annotated[date | None, msgspec.Meta(description="the last day (default: today)")] = None


class Report(Reply):
    """A report's period and the time zone its days are in."""

    from_: Day = msgspec.field(name="from")
    to: Day
    timezone: str


class DayCount(Reply):
    """Tickets taken in on one day."""

    day: Day
    tickets: int


class CategoryCount(Reply):
    """Tickets of one category."""

    category: str
    tickets: int


class ChannelCount(Reply):
    """Tickets taken in on one channel."""

    channel: str
    tickets: int


class VolumeReport(Report):
    """Tickets taken in per local day (every day of the period), per category and per channel."""

    by_day: list[DayCount]
    by_category: list[CategoryCount]
    by_channel: list[ChannelCount]


class AgentWorkload(Reply):
    """One handler's open tickets now, tickets resolved in the period and their average handling time."""

    agent: Person
    open: int
    resolved: int
    avg_handling_s: int | None


class WorkloadReport(Report):
    """Each handler's workload."""

    agents: list[AgentWorkload]


class CategoryTimes(Reply):
    """One category's times to respond and resolve, and its reopens."""

    category: str
    tickets: int
    responded: int
    avg_first_response_s: int | None
    resolved: int
    avg_resolution_s: int | None
    reopened: int
    reopen_rate: float | None


class ServiceTimesReport(Report):
    """Per category, over tickets taken in during the period."""

    categories: list[CategoryTimes]


class DistributionCell(Reply):
    """Tickets of one category from customers of one tier."""

    category: str
    tier: str
    tickets: int


class DistributionReport(Report):
    """Tickets per category and customer tier."""

    cells: list[DistributionCell]


def _period(period: ReportPeriod, tz: ZoneInfo, now: datetime) -> tuple[date, date, datetime, datetime]:
    """The report's first and last local day, and the [since, until) instants they span."""
    last = period.to or now.astimezone(tz).date()
    first = period.from_ or last - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if first > last:
        raise ValidationFailedError({"from": "must not be after 'to'"})
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ValidationFailedError({"from": f"a period of at most {MAX_REPORT_DAYS} days"})
    since = datetime.combine(first, time(), tz)
    until = datetime.combine(last + timedelta(days=1), time(), tz)
    return first, last, since, until


@ROUTES.get("/api/reports/volume", roles=SUPERVISORS)
async def volume_report(request: web.Request, agent: Agent, *, query: ReportPeriod) -> VolumeReport:
    """Tickets taken in per local day (every day of the period), per category and per channel."""
    services = _services(request)
    first, last, since, until = _period(query, ZoneInfo(services.timezone), _now(request))
    volume = await services.reports.volume(since, until, services.timezone)
    counts = dict(volume.by_day)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return VolumeReport(
        from_=first.isoformat(),
        to=last.isoformat(),
        timezone=services.timezone,
        by_day=[DayCount(d.isoformat(), counts.get(d, 0)) for d in days],
        by_category=[CategoryCount(c, n) for c, n in volume.by_category],
        by_channel=[ChannelCount(c, n) for c, n in volume.by_channel],
    )


@ROUTES.get("/api/reports/workload", roles=SUPERVISORS)
async def workload_report(request: web.Request, agent: Agent, *, query: ReportPeriod) -> WorkloadReport:
    """Each handler's open tickets now, tickets resolved in the period and their average handling time."""
    services = _services(request)
    first, last, since, until = _period(query, ZoneInfo(services.timezone), _now(request))
    rows = await services.reports.workload(since, until)
    names = await services.display_names([r.agent_id for r in rows])
    return WorkloadReport(
        from_=first.isoformat(),
        to=last.isoformat(),
        timezone=services.timezone,
        agents=[
            AgentWorkload(
                agent=Person(r.agent_id, names.get(r.agent_id)),
                open=r.open_now,
                resolved=r.resolved,
                avg_handling_s=_seconds(r.avg_handling_s),
            )
            for r in rows
        ],
    )


@ROUTES.get("/api/reports/service-times", roles=SUPERVISORS)
async def service_times_report(
    request: web.Request, agent: Agent, *, query: ReportPeriod
) -> ServiceTimesReport:
    """Per category: average time to first response and to resolution, and the share of resolutions reopened."""
    services = _services(request)
    first, last, since, until = _period(query, ZoneInfo(services.timezone), _now(request))
    rows = await services.reports.service_times(since, until)
    return ServiceTimesReport(
        from_=first.isoformat(),
        to=last.isoformat(),
        timezone=services.timezone,
        categories=[
            CategoryTimes(
                category=r.category,
                tickets=r.tickets,
                responded=r.responded,
                avg_first_response_s=_seconds(r.avg_first_response_s),
                resolved=r.resolved,
                avg_resolution_s=_seconds(r.avg_resolution_s),
                reopened=r.reopened,
                reopen_rate=None if r.reopen_rate is None else round(r.reopen_rate, 4),
            )
            for r in rows
        ],
    )


@ROUTES.get("/api/reports/distribution", roles=SUPERVISORS)
async def distribution_report(
    request: web.Request, agent: Agent, *, query: ReportPeriod
) -> DistributionReport:
    """Tickets taken in during the period per category and customer tier."""
    services = _services(request)
    first, last, since, until = _period(query, ZoneInfo(services.timezone), _now(request))
    rows = await services.reports.distribution(since, until)
    return DistributionReport(
        from_=first.isoformat(),
        to=last.isoformat(),
        timezone=services.timezone,
        cells=[DistributionCell(r.category, r.tier, r.tickets) for r in rows],
    )


async def reports_page(request: web.Request) -> web.FileResponse:
    """GET /reports: the supervisors' service reports (they sign in on the page)."""
    return web.FileResponse(STATIC_DIR / "reports.html", headers={"Cache-Control": "no-cache"})


def add_proactive_routes(app: web.Application, services: ProactiveServices) -> None:
    """Register the callback, click-to-dial, special-day and report routes and the /reports page."""
    app[PROACTIVE] = services
    ROUTES.add_to(app)
    app.router.add_get("/reports", reports_page)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _now(request: web.Request) -> datetime:
    # The application's clock: tests inject one.
    return request.app[SERVICES].now()
