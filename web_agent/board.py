"""Agent states and the supervisor wallboard on the web: the HTTP actions, the pushed events, the page.

`BoardPublisher` satisfies cti's `BoardSink` port: it turns agent states, queue figures and
staffing warnings into events on the same WebSocket streams as the pops (`agent_state` to the
agent and to supervisors, `queue_figures` and `staffing_warning` to supervisors, and
`staffing_warning` to the agent who asked to pause). `setup` adds the routes:

    GET  /wallboard                 the full-screen wallboard page (supervisors sign in there)
    GET  /api/agent/state           the caller's states per interface, and the pause reasons
    POST /api/agent/queues          {queue, penalty?}: log in to a queue (QueueAdd)
    DELETE /api/agent/queues/{queue}  log out of a queue (QueueRemove)
    POST /api/agent/pause           {reason}: pause in every queue (QueuePause); returns warnings
    POST /api/agent/unpause         unpause everywhere
    GET  /api/wallboard             the figures and agent states now (supervisors)
    GET  /api/reports/agent-states?since=…&until=…  seconds per agent, state and reason (supervisors)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from aiohttp import web

from agents import Agent
from cti import (
    AgentStateService,
    AgentStatus,
    Forecast,
    NotInQueueError,
    Presence,
    QueueFigures,
    StaffingWarning,
)
from web_agent.api import ANY_ROLE, SUPERVISORS
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError
from web_agent.hub import AgentHub
from web_agent.routes import Instant, JsonBody, PathParams, QueryString, Reply, Routes

log = logging.getLogger(__name__)

ROUTES = Routes("agent states")
AGENT_STATES = web.AppKey("agent_states", AgentStateService)
MAX_REPORT_DAYS = 93
_PBX = ("pbx.refused", "pbx.unavailable", "pbx.timeout")


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat()


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _tenths(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class MembershipView(Reply):
    """The agent in one queue: paused or not, why, and since when."""

    queue: str
    paused: bool
    reason: str | None
    paused_since: Instant | None


class AgentStatusView(Reply):
    """One agent interface's state as the desktop and the wallboard show it."""

    interface: str
    member_name: str | None
    state: Presence
    reason: str | None
    since: Instant | None
    queues: list[MembershipView]

    @classmethod
    def of(cls, status: AgentStatus) -> AgentStatusView:
        """The view of an interface's state."""
        return cls(
            interface=status.interface,
            member_name=status.member_name,
            state=status.presence,
            reason=status.reason,
            since=_iso(status.since),
            queues=[MembershipView(m.queue, m.paused, m.reason, _iso(m.paused_since)) for m in status.queues],
        )


class ForecastView(Reply):
    """The Erlang C projection of the next 30 minutes."""

    arrivals_per_hour: float
    handle_s: float
    agents: int
    service_level: float | None
    target: float
    agents_needed: int | None
    below_target: bool

    @classmethod
    def of(cls, forecast: Forecast) -> ForecastView:
        """The view of a forecast."""
        return cls(
            arrivals_per_hour=round(forecast.arrivals_per_hour, 1),
            handle_s=round(forecast.handle_s, 1),
            agents=forecast.agents,
            service_level=_ratio(forecast.service_level),
            target=forecast.target,
            agents_needed=forecast.agents_needed,
            below_target=forecast.below_target,
        )


class AgentCounts(Reply):
    """How many of a queue's agents are in each state."""

    ready: int
    on_call: int
    wrap_up: int
    paused: int


class WindowView(Reply):
    """One queue's figures over one window."""

    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    aht_s: float | None
    occupancy: float | None


class QueueFiguresView(Reply):
    """One queue's wallboard row; `windows` by label (15m, 1h, today)."""

    queue: str
    waiting: int
    longest_wait_s: float
    agents: AgentCounts
    windows: dict[str, WindowView]
    forecast: ForecastView

    @classmethod
    def of(cls, figures: QueueFigures) -> QueueFiguresView:
        """The view of a queue's figures."""
        return cls(
            queue=figures.queue,
            waiting=figures.waiting,
            longest_wait_s=round(figures.longest_wait_s, 1),
            agents=AgentCounts(figures.ready, figures.on_call, figures.wrap_up, figures.paused),
            windows={
                label: WindowView(
                    answered=w.answered,
                    abandoned=w.abandoned,
                    service_level=_ratio(w.service_level),
                    asa_s=_tenths(w.asa_s),
                    abandon_rate=_ratio(w.abandon_rate),
                    aht_s=_tenths(w.aht_s),
                    occupancy=_ratio(w.occupancy),
                )
                for label, w in figures.windows
            },
            forecast=ForecastView.of(figures.forecast),
        )


class WarningView(Reply):
    """A pause that would push a queue under its service-level target."""

    interface: str
    queue: str
    reason: str
    projected_now: ForecastView
    projected_after: ForecastView

    @classmethod
    def of(cls, warning: StaffingWarning) -> WarningView:
        """The view of a staffing warning."""
        return cls(
            interface=warning.interface,
            queue=warning.queue,
            reason=warning.reason,
            projected_now=ForecastView.of(warning.projected_now),
            projected_after=ForecastView.of(warning.projected_after),
        )


class AgentState(Reply):
    """The agent's own states and the pause reasons they may choose from."""

    interfaces: list[AgentStatusView]
    pause_reasons: list[str]


class Paused(AgentState):
    """The agent's states after a pause, and what the pause does to the service level."""

    warnings: list[WarningView]


class Figures(Reply):
    """The queue figures last pushed, and when they were computed."""

    at: Instant | None
    queues: list[QueueFiguresView]


class Wallboard(Figures):
    """The figures last pushed, and every agent's state."""

    agents: list[AgentStatusView]


class BoardPublisher:
    """Satisfies cti's BoardSink: pushes states, figures and warnings into the agents' streams."""

    def __init__(self, hub: AgentHub[Agent], service: AgentStateService | None = None) -> None:
        self._hub = hub
        self._service = service
        hub.add_snapshot_part("agent_state", self._agent_part)
        hub.add_snapshot_part("wallboard", self._wallboard_part)

    def bind(self, service: AgentStateService) -> None:
        """The service whose states the snapshots read (it is built after the publisher)."""
        self._service = service

    def agent_state(self, status: AgentStatus) -> None:
        """To the agent owning the interface, and to the supervisors."""
        self._hub.publish(
            (status.interface,), "agent_state", _plain(AgentStatusView.of(status)), roles=SUPERVISORS
        )

    def queue_figures(self, figures: Sequence[QueueFigures], at: float) -> None:
        """To the supervisors."""
        self._hub.publish_to_roles(SUPERVISORS, "queue_figures", _plain(_figures_view(figures, at)))

    def watching_figures(self) -> bool:
        """Whether a supervisor's stream is open (or waiting for its socket to come back)."""
        return self._hub.has_streams_for(SUPERVISORS)

    def staffing_warning(self, warning: StaffingWarning) -> None:
        """To the supervisors and to the agent who asked to pause."""
        self._hub.publish(
            (warning.interface,), "staffing_warning", _plain(WarningView.of(warning)), roles=SUPERVISORS
        )

    def agent_payload(self, agent: Agent) -> AgentState:
        """The agent's own states and the pause reasons they may choose from."""
        service = self._service
        if service is None:
            return AgentState(interfaces=[], pause_reasons=[])
        statuses = [service.status(i) for i in agent.interfaces]
        return AgentState(
            interfaces=[AgentStatusView.of(s) for s in statuses if s is not None],
            pause_reasons=list(service.settings.pause_reasons),
        )

    def wallboard_payload(self) -> Wallboard:
        """The figures now, and every agent's state."""
        service = self._service
        if service is None:
            return Wallboard(at=None, queues=[], agents=[])
        figures = _figures_view(*service.figures())
        agents = [AgentStatusView.of(s) for s in service.statuses()]
        return Wallboard(at=figures.at, queues=figures.queues, agents=agents)

    def _agent_part(self, agent: Agent) -> dict[str, Any]:
        return _plain(self.agent_payload(agent))

    def _wallboard_part(self, agent: Agent) -> dict[str, Any] | None:
        return _plain(self.wallboard_payload()) if agent.role in SUPERVISORS else None


def _figures_view(figures: Sequence[QueueFigures], at: float) -> Figures:
    return Figures(at=_iso(at), queues=[QueueFiguresView.of(f) for f in figures])


def _plain(view: Reply) -> dict[str, Any]:
    """A view as the socket frames carry it (the hub encodes plain data)."""
    data: dict[str, Any] = msgspec.to_builtins(view)
    return data


BOARD = web.AppKey("board", BoardPublisher)


def _interfaces(agent: Agent) -> tuple[str, ...]:
    if not agent.interfaces:
        raise ValidationFailedError({"interface": "this account has no phone interface to log in with"})
    return agent.interfaces


@ROUTES.get("/api/agent/state", roles=ANY_ROLE)
async def agent_state(request: web.Request, agent: Agent) -> AgentState:
    """The signed-in agent's states and pause reasons."""
    return request.app[BOARD].agent_payload(agent)


class QueueBody(JsonBody):
    """The queue to log in to, and the agent's penalty in it."""

    queue: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    penalty: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 0


@ROUTES.post("/api/agent/queues", roles=ANY_ROLE, errors=_PBX)
async def join_queue(request: web.Request, agent: Agent, *, body: QueueBody) -> AgentState:
    """Log in to a queue (QueueAdd on Asterisk for each of the agent's interfaces)."""
    queue = body.queue.strip()
    service = request.app[AGENT_STATES]
    for interface in _interfaces(agent):
        await service.log_in(interface, queue, member_name=agent.display_name, penalty=body.penalty)
    log.info("agent %s logged in to queue %s", agent.username, queue)
    return request.app[BOARD].agent_payload(agent)


class QueuePath(PathParams):
    """A queue."""

    queue: Annotated[str, msgspec.Meta(max_length=80)]


@ROUTES.delete("/api/agent/queues/{queue}", roles=ANY_ROLE, errors=(*_PBX, "agent_state.not_in_queue"))
async def leave_queue(request: web.Request, agent: Agent, *, path: QueuePath) -> AgentState:
    """Log out of a queue (QueueRemove)."""
    service = request.app[AGENT_STATES]
    for interface in _interfaces(agent):
        await service.log_out(interface, path.queue)
    log.info("agent %s logged out of queue %s", agent.username, path.queue)
    return request.app[BOARD].agent_payload(agent)


class PauseBody(JsonBody):
    """Why the agent pauses: one of the configured pause reasons."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


@ROUTES.post(
    "/api/agent/pause",
    roles=ANY_ROLE,
    errors=(*_PBX, "agent_state.unknown_reason", "agent_state.not_in_queue"),
)
async def pause(request: web.Request, agent: Agent, *, body: PauseBody) -> Paused:
    """Pause in every queue with a configured reason (QueuePause).

    `warnings` say when the projected service level falls under target.
    """
    service = request.app[AGENT_STATES]
    warnings: list[StaffingWarning] = []
    paused_any = False
    for interface in _interfaces(agent):
        try:
            warnings.extend(await service.pause(interface, body.reason))
            paused_any = True
        except NotInQueueError:
            continue
    if not paused_any:
        raise NotInQueueError(agent.interfaces[0], None)
    log.info("agent %s paused (%s)", agent.username, body.reason)
    state = request.app[BOARD].agent_payload(agent)
    return Paused(state.interfaces, state.pause_reasons, [WarningView.of(w) for w in warnings])


@ROUTES.post(
    "/api/agent/unpause", roles=ANY_ROLE, errors=(*_PBX, "agent_state.not_in_queue", "validation.failed")
)
async def unpause(request: web.Request, agent: Agent) -> AgentState:
    """Unpause in every queue."""
    service = request.app[AGENT_STATES]
    unpaused_any = False
    for interface in _interfaces(agent):
        try:
            await service.unpause(interface)
            unpaused_any = True
        except NotInQueueError:
            continue
    if not unpaused_any:
        raise NotInQueueError(agent.interfaces[0], None)
    log.info("agent %s unpaused", agent.username)
    return request.app[BOARD].agent_payload(agent)


@ROUTES.get("/api/wallboard", roles=SUPERVISORS)
async def wallboard_now(request: web.Request, agent: Agent) -> Wallboard:
    """Queue figures and every agent's state now."""
    return request.app[BOARD].wallboard_payload()


class StateSpan(QueryString):
    """The report's span, with offsets."""

    since: Annotated[datetime, msgspec.Meta(tz=True)]
    until: Annotated[datetime, msgspec.Meta(tz=True)]


class StateTotalView(Reply):
    """Seconds an interface spent in one state (and reason)."""

    interface: str
    state: str
    reason: str
    seconds: float


class StateReport(Reply):
    """Time in each state, per agent interface and reason, over a span."""

    since: Instant
    until: Instant
    totals: list[StateTotalView]


@ROUTES.get("/api/reports/agent-states", roles=SUPERVISORS)
async def agent_state_report(request: web.Request, agent: Agent, *, query: StateSpan) -> StateReport:
    """Seconds each agent spent in each state and pause reason over a span."""
    since, until = query.since, query.until
    if not since < until or (until - since).days > MAX_REPORT_DAYS:
        raise ValidationFailedError({"until": f"must be after since, at most {MAX_REPORT_DAYS} days later"})
    totals = await request.app[AGENT_STATES].totals(since, until)
    return StateReport(
        since=since.isoformat(),
        until=until.isoformat(),
        totals=[StateTotalView(t.interface, t.state, t.reason, round(t.seconds, 1)) for t in totals],
    )


async def wallboard_page(request: web.Request) -> web.FileResponse:
    """GET /wallboard: the TV-friendly wallboard."""
    return web.FileResponse(STATIC_DIR / "wallboard.html", headers={"Cache-Control": "no-cache"})


def setup(app: web.Application, service: AgentStateService, board: BoardPublisher) -> None:
    """Add the agent-state, wallboard and report routes to the web application."""
    app[AGENT_STATES] = service
    app[BOARD] = board
    app.router.add_get("/wallboard", wallboard_page)
    ROUTES.add_to(app)
