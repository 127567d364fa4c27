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
from typing import Any

from aiohttp import web

from agents import Agent
from cti import AgentStateService, AgentStatus, Forecast, NotInQueueError, QueueFigures, StaffingWarning
from web_agent.api import ANY_ROLE, SUPERVISORS, json_object, require, text_field
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError
from web_agent.hub import AgentHub

log = logging.getLogger(__name__)

AGENT_STATES = web.AppKey("agent_states", AgentStateService)
MAX_REPORT_DAYS = 93


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat()


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def status_json(status: AgentStatus) -> dict[str, Any]:
    """One agent interface's state as the desktop and the wallboard show it."""
    return {
        "interface": status.interface,
        "member_name": status.member_name,
        "state": status.presence.value,
        "reason": status.reason,
        "since": _iso(status.since),
        "queues": [
            {"queue": m.queue, "paused": m.paused, "reason": m.reason, "paused_since": _iso(m.paused_since)}
            for m in status.queues
        ],
    }


def forecast_json(forecast: Forecast) -> dict[str, Any]:
    """The Erlang C projection of the next 30 minutes."""
    return {
        "arrivals_per_hour": round(forecast.arrivals_per_hour, 1),
        "handle_s": round(forecast.handle_s, 1),
        "agents": forecast.agents,
        "service_level": _ratio(forecast.service_level),
        "target": forecast.target,
        "agents_needed": forecast.agents_needed,
        "below_target": forecast.below_target,
    }


def figures_json(figures: QueueFigures) -> dict[str, Any]:
    """One queue's wallboard row."""
    return {
        "queue": figures.queue,
        "waiting": figures.waiting,
        "longest_wait_s": round(figures.longest_wait_s, 1),
        "agents": {
            "ready": figures.ready,
            "on_call": figures.on_call,
            "wrap_up": figures.wrap_up,
            "paused": figures.paused,
        },
        "windows": {
            label: {
                "answered": w.answered,
                "abandoned": w.abandoned,
                "service_level": _ratio(w.service_level),
                "asa_s": None if w.asa_s is None else round(w.asa_s, 1),
                "abandon_rate": _ratio(w.abandon_rate),
                "aht_s": None if w.aht_s is None else round(w.aht_s, 1),
                "occupancy": _ratio(w.occupancy),
            }
            for label, w in figures.windows
        },
        "forecast": forecast_json(figures.forecast),
    }


def warning_json(warning: StaffingWarning) -> dict[str, Any]:
    """A pause that would push a queue under its service-level target."""
    return {
        "interface": warning.interface,
        "queue": warning.queue,
        "reason": warning.reason,
        "projected_now": forecast_json(warning.projected_now),
        "projected_after": forecast_json(warning.projected_after),
    }


class BoardPublisher:
    """Satisfies cti's BoardSink: pushes states, figures and warnings into the agents' streams."""

    def __init__(self, hub: AgentHub[Agent], service: AgentStateService | None = None) -> None:
        self._hub = hub
        self._service = service
        self._figures: dict[str, Any] = {"at": None, "queues": []}
        hub.add_snapshot_part("agent_state", self._agent_part)
        hub.add_snapshot_part("wallboard", self._wallboard_part)

    def bind(self, service: AgentStateService) -> None:
        """The service whose states the snapshots read (it is built after the publisher)."""
        self._service = service

    def agent_state(self, status: AgentStatus) -> None:
        """To the agent owning the interface, and to the supervisors."""
        data = status_json(status)
        self._hub.publish((status.interface,), "agent_state", data)
        self._hub.publish_to_roles(SUPERVISORS, "agent_state", data)

    def queue_figures(self, figures: Sequence[QueueFigures], at: float) -> None:
        """To the supervisors; kept for the snapshot of the next one to connect."""
        self._figures = {"at": _iso(at), "queues": [figures_json(f) for f in figures]}
        self._hub.publish_to_roles(SUPERVISORS, "queue_figures", self._figures)

    def staffing_warning(self, warning: StaffingWarning) -> None:
        """To the supervisors and to the agent who asked to pause."""
        data = warning_json(warning)
        self._hub.publish_to_roles(SUPERVISORS, "staffing_warning", data)
        self._hub.publish((warning.interface,), "staffing_warning", data)

    def agent_payload(self, agent: Agent) -> dict[str, Any]:
        """The agent's own states and the pause reasons they may choose from."""
        service = self._service
        if service is None:
            return {"interfaces": [], "pause_reasons": []}
        statuses = [service.status(i) for i in agent.interfaces]
        return {
            "interfaces": [status_json(s) for s in statuses if s is not None],
            "pause_reasons": list(service.settings.pause_reasons),
        }

    def wallboard_payload(self) -> dict[str, Any]:
        """The last figures pushed, and every agent's state."""
        service = self._service
        agents = [] if service is None else [status_json(s) for s in service.statuses()]
        return {**self._figures, "agents": agents}

    def _agent_part(self, agent: Agent) -> dict[str, Any]:
        return self.agent_payload(agent)

    def _wallboard_part(self, agent: Agent) -> dict[str, Any] | None:
        return self.wallboard_payload() if agent.role in SUPERVISORS else None


BOARD = web.AppKey("board", BoardPublisher)


@require(*ANY_ROLE)
async def agent_state(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/agent/state."""
    return web.json_response(request.app[BOARD].agent_payload(agent))


@require(*ANY_ROLE)
async def join_queue(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/agent/queues {queue, penalty?}: QueueAdd for each of the agent's interfaces."""
    body = await json_object(request)
    queue = text_field(body, "queue", max_len=80).strip()
    penalty = body.get("penalty", 0)
    if isinstance(penalty, bool) or not isinstance(penalty, int) or not 0 <= penalty <= 1000:
        raise ValidationFailedError({"penalty": "a whole number 0..1000"})
    service = request.app[AGENT_STATES]
    for interface in _interfaces(agent):
        await service.log_in(interface, queue, member_name=agent.display_name, penalty=penalty)
    log.info("agent %s logged in to queue %s", agent.username, queue)
    return web.json_response(request.app[BOARD].agent_payload(agent))


@require(*ANY_ROLE)
async def leave_queue(request: web.Request, agent: Agent) -> web.Response:
    """DELETE /api/agent/queues/{queue}: QueueRemove for each of the agent's interfaces."""
    queue = request.match_info["queue"]
    service = request.app[AGENT_STATES]
    for interface in _interfaces(agent):
        await service.log_out(interface, queue)
    log.info("agent %s logged out of queue %s", agent.username, queue)
    return web.json_response(request.app[BOARD].agent_payload(agent))


@require(*ANY_ROLE)
async def pause(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/agent/pause {reason}: pause in every queue; `warnings` says what it does to the service level."""
    body = await json_object(request)
    reason = text_field(body, "reason", max_len=40)
    service = request.app[AGENT_STATES]
    warnings: list[StaffingWarning] = []
    paused_any = False
    for interface in _interfaces(agent):
        try:
            warnings.extend(await service.pause(interface, reason))
            paused_any = True
        except NotInQueueError:
            continue
    if not paused_any:
        raise NotInQueueError(agent.interfaces[0], None)
    log.info("agent %s paused (%s)", agent.username, reason)
    return web.json_response(
        {**request.app[BOARD].agent_payload(agent), "warnings": [warning_json(w) for w in warnings]}
    )


@require(*ANY_ROLE)
async def unpause(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/agent/unpause: unpause in every queue."""
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
    return web.json_response(request.app[BOARD].agent_payload(agent))


@require(*SUPERVISORS)
async def wallboard_now(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/wallboard: the figures and agent states now."""
    return web.json_response(request.app[BOARD].wallboard_payload())


@require(*SUPERVISORS)
async def agent_state_report(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/reports/agent-states?since=ISO&until=ISO: time in each state, per agent and reason."""
    since, until = _instant(request, "since"), _instant(request, "until")
    if not since < until or (until - since).days > MAX_REPORT_DAYS:
        raise ValidationFailedError({"until": f"must be after since, at most {MAX_REPORT_DAYS} days later"})
    totals = await request.app[AGENT_STATES].totals(since, until)
    return web.json_response(
        {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "totals": [
                {
                    "interface": t.interface,
                    "state": t.state,
                    "reason": t.reason,
                    "seconds": round(t.seconds, 1),
                }
                for t in totals
            ],
        }
    )


def _instant(request: web.Request, name: str) -> datetime:
    raw = request.query.get(name, "")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailedError(
            {name: "an ISO 8601 time with its offset, e.g. 2026-12-01T00:00:00+07:00"}
        ) from None
    if value.tzinfo is None:
        raise ValidationFailedError({name: "needs a UTC offset"})
    return value


async def wallboard_page(request: web.Request) -> web.FileResponse:
    """GET /wallboard: the TV-friendly wallboard."""
    return web.FileResponse(STATIC_DIR / "wallboard.html", headers={"Cache-Control": "no-cache"})


def _interfaces(agent: Agent) -> tuple[str, ...]:
    if not agent.interfaces:
        raise ValidationFailedError({"interface": "this account has no phone interface to log in with"})
    return agent.interfaces


def setup(app: web.Application, service: AgentStateService, board: BoardPublisher) -> None:
    """Add the agent-state, wallboard and report routes to the web application."""
    app[AGENT_STATES] = service
    app[BOARD] = board
    app.router.add_get("/wallboard", wallboard_page)
    app.router.add_get("/api/agent/state", agent_state)
    app.router.add_post("/api/agent/queues", join_queue)
    app.router.add_delete("/api/agent/queues/{queue}", leave_queue)
    app.router.add_post("/api/agent/pause", pause)
    app.router.add_post("/api/agent/unpause", unpause)
    app.router.add_get("/api/wallboard", wallboard_now)
    app.router.add_get("/api/reports/agent-states", agent_state_report)
