"""Outbound campaigns over HTTP: the supervisor's campaign page and the agent's campaign calls.

Supervisors create campaigns, load leads (CSV), start, pause and stop them and watch their
figures; agents join a campaign, preview and dial leads (preview campaigns) and set the
disposition of each call. Outbound pops reach the agent's socket as `outbound_pop` events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from aiohttp import web

from agents import Agent
from cti import (
    Campaign,
    CampaignService,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Dialer,
    DialMethod,
    DropAction,
    InvalidCampaignError,
    Lead,
    OutboundPop,
    PhoneNormaliser,
    RetryPolicy,
    parse_leads,
)
from web_agent.api import ANY_ROLE, SUPERVISORS, json_object, require
from web_agent.app import STATIC_DIR
from web_agent.customer_json import card_json
from web_agent.errors import ValidationFailedError

log = logging.getLogger(__name__)

MAX_LEADS_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class CampaignServices:
    """What the campaign endpoints need, built by hotline/app.py."""

    dialer: Dialer
    campaigns: CampaignService
    normalise_phone: PhoneNormaliser
    default_timezone: str


CAMPAIGNS = web.AppKey("campaigns", CampaignServices)


def lead_json(lead: Lead) -> dict[str, Any]:
    """A lead as the desktop shows it."""
    return {
        "id": lead.id,
        "campaign_id": lead.campaign_id,
        "name": lead.name,
        "phone": lead.phone,
        "timezone": lead.timezone,
        "attempts": lead.attempts,
        "status": lead.status,
        "disposition": lead.disposition,
    }


def outbound_pop_json(pop: OutboundPop) -> dict[str, Any]:
    """The data of an `outbound_pop` event."""
    customer, interactions = card_json(pop.card)
    return {
        "call_id": pop.call_id,
        "direction": "outbound",
        "campaign": {"id": pop.campaign_id, "name": pop.campaign_name, "script": pop.script},
        "lead": lead_json(pop.lead),
        "customer": customer,
        "interactions": interactions,
    }


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings."""
    s = campaign.spec
    return {
        "id": campaign.id,
        "name": s.name,
        "queue": s.queue,
        "dial_method": s.dial_method.value,
        "state": campaign.state.value,
        "caller_id": s.caller_id,
        "script": s.script,
        "window": {"start": s.window_start.isoformat("minutes"), "end": s.window_end.isoformat("minutes")},
        "max_attempts": s.retry.max_attempts,
        "retry_s": {
            "busy": s.retry.busy_s,
            "no_answer": s.retry.no_answer_s,
            "failed": s.retry.failed_s,
            "machine": s.retry.machine_s,
        },
        "sales": s.sales,
        "drop_action": s.drop_action.value,
        "abandon_cap": s.abandon_cap,
    }


def status_json(status: CampaignStatus) -> dict[str, Any]:
    """A campaign with its live figures, for the supervisor page."""
    c, p = status.counts, status.pacing
    return {
        **campaign_json(status.campaign),
        "live": {
            "dialled_24h": c.dialled_24h,
            "answered_24h": c.answered_24h,
            "dropped_24h": c.dropped_24h,
            "abandon_rate_24h": c.dropped_24h / c.answered_24h if c.answered_24h else 0.0,
            "answered_30d": c.answered_30d,
            "dropped_30d": c.dropped_30d,
            "abandon_rate_30d": c.dropped_30d / c.answered_30d if c.answered_30d else 0.0,
            "agents_busy": status.agents_busy,
            "agents_idle": status.agents_idle,
            "in_flight": status.in_flight,
            "pacing_level": round(p.level, 3),
            "answer_rate": round(p.answer_rate, 3),
            "capped": p.capped,
            "leads_total": c.leads_total,
            "leads_remaining": c.leads_remaining,
        },
    }


def _spec(body: dict[str, Any]) -> CampaignSpec:
    """A CampaignSpec from a JSON body; every problem is reported at once."""
    problems: dict[str, str] = {}

    def text(name: str, default: str | None = None, max_len: int = 200) -> str:
        value = body.get(name, default)
        if not isinstance(value, str) or len(value) > max_len:
            problems[name] = f"text of at most {max_len} characters"
            return ""
        return value

    def number(name: str, default: float) -> float:
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems[name] = "a number"
            return default
        return float(value)

    def clock(name: str, default: str) -> time:
        try:
            return time.fromisoformat(text(name, default, 8))
        except ValueError:
            problems[name] = "a time of day as HH:MM"
            return time(0)

    method_text = text("dial_method", "predictive", 20)
    drop_text = text("drop_action", "hangup", 20)
    try:
        method = DialMethod(method_text)
    except ValueError:
        problems["dial_method"] = "one of preview, progressive, predictive"
        method = DialMethod.PREDICTIVE
    try:
        drop = DropAction(drop_text)
    except ValueError:
        problems["drop_action"] = "one of hangup, message"
        drop = DropAction.HANGUP
    name = text("name", max_len=80).strip()
    queue = text("queue", max_len=80).strip()
    caller_id = text("caller_id", max_len=80).strip()
    script = text("script", "", 20_000)
    window_start = clock("window_start", "08:00")
    window_end = clock("window_end", "21:00")
    abandon_cap = number("abandon_cap", 0.03)
    retry_numbers = {
        name: int(number(key, default))
        for name, key, default in (
            ("max_attempts", "max_attempts", 3),
            ("busy_s", "retry_busy_s", 600),
            ("no_answer_s", "retry_no_answer_s", 3600),
            ("failed_s", "retry_failed_s", 1800),
            ("machine_s", "retry_machine_s", 7200),
        )
    }
    sales = body.get("sales", True)
    if not isinstance(sales, bool):
        problems["sales"] = "true or false"
    if problems:
        raise ValidationFailedError(problems)
    try:
        return CampaignSpec(
            name=name,
            queue=queue,
            dial_method=method,
            caller_id=caller_id,
            script=script,
            window_start=window_start,
            window_end=window_end,
            retry=RetryPolicy(**retry_numbers),
            sales=bool(sales),
            drop_action=drop,
            abandon_cap=abandon_cap,
        )
    except InvalidCampaignError as exc:
        raise ValidationFailedError({"campaign": "; ".join(exc.problems)}) from None


def _campaign_id(request: web.Request) -> int:
    try:
        return int(request.match_info["campaign_id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such campaign") from None


def add_campaign_routes(app: web.Application, services: CampaignServices) -> None:
    """Register the campaign endpoints and the supervisor page on the application."""
    app[CAMPAIGNS] = services

    @require(*SUPERVISORS)
    async def list_campaigns(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/campaigns: every campaign with its live figures."""
        campaigns = await services.campaigns.campaigns()
        statuses = [await services.dialer.status(c.id) for c in campaigns]
        return web.json_response({"campaigns": [status_json(s) for s in statuses]})

    @require(*ANY_ROLE)
    async def running_campaigns(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/campaigns/mine: running campaigns an agent may join, and the one they joined."""
        campaigns = [c for c in await services.campaigns.campaigns() if c.state is CampaignState.RUNNING]
        seat = services.dialer.seat_of(agent.interfaces)
        return web.json_response(
            {
                "campaigns": [campaign_json(c) for c in campaigns],
                "joined": None if seat is None else {"campaign_id": seat[1], "state": seat[2].value},
            }
        )

    @require(*SUPERVISORS)
    async def create_campaign(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns {name, queue, dial_method, caller_id, script, window_start, ...}."""
        spec = _spec(await json_object(request))
        try:
            campaign = await services.campaigns.create_campaign(spec)
        except InvalidCampaignError as exc:
            raise ValidationFailedError({"name": "; ".join(exc.problems)}) from None
        log.info("supervisor %s created campaign %d (%s)", agent.username, campaign.id, spec.name)
        return web.json_response({"campaign": campaign_json(campaign)}, status=201)

    @require(*SUPERVISORS)
    async def set_state(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/{id}/state {state: running|paused|stopped}."""
        body = await json_object(request)
        try:
            state = CampaignState(body.get("state"))
        except ValueError:
            raise ValidationFailedError({"state": "one of running, paused, stopped"}) from None
        campaign = await services.campaigns.set_state(_campaign_id(request), state)
        log.info("supervisor %s set campaign %d %s", agent.username, campaign.id, state.value)
        return web.json_response({"campaign": campaign_json(campaign)})

    @require(*SUPERVISORS)
    async def upload_leads(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/{id}/leads (text/csv): import leads; the report lists refusals and merges."""
        campaign_id = _campaign_id(request)
        await services.campaigns.campaign(campaign_id)
        if request.content_type not in ("text/csv", "text/plain"):
            raise ValidationFailedError({"body": "send the CSV file with Content-Type: text/csv"})
        raw = await request.content.read(MAX_LEADS_BYTES + 1)
        if len(raw) > MAX_LEADS_BYTES:
            raise ValidationFailedError({"body": f"at most {MAX_LEADS_BYTES // (1024 * 1024)} MiB per file"})
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailedError({"body": "the file must be UTF-8"}) from None
        parsed = parse_leads(text, services.normalise_phone, services.default_timezone)
        report = await services.campaigns.import_leads(campaign_id, parsed)
        return web.json_response(
            {
                "created": report.created,
                "updated": report.updated,
                "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected],
                "merged": [
                    {"line": m.line, "into_line": m.into_line, "reason": m.reason} for m in report.merged
                ],
            }
        )

    @require(*ANY_ROLE)
    async def join(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/{id}/join: the agent takes this campaign's calls."""
        campaign = await services.campaigns.campaign(_campaign_id(request))
        if not agent.interfaces:
            raise ValidationFailedError({"agent": "you have no phone interface to take calls on"})
        services.dialer.leave(agent.interfaces)
        services.dialer.join(campaign.id, agent.interfaces[:1])
        return web.json_response({"joined": {"campaign_id": campaign.id, "state": "free"}})

    @require(*ANY_ROLE)
    async def leave(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/leave: the agent stops taking campaign calls."""
        services.dialer.leave(agent.interfaces)
        return web.json_response({"joined": None})

    @require(*ANY_ROLE)
    async def preview(request: web.Request, agent: Agent) -> web.Response:
        """GET /api/campaigns/{id}/preview: the next lead for the agent to look at and dial."""
        campaign, lead = await services.dialer.preview_next(_campaign_id(request), agent.interfaces)
        return web.json_response(
            {"campaign": campaign_json(campaign), "lead": None if lead is None else lead_json(lead)}
        )

    @require(*ANY_ROLE)
    async def dial(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/{id}/leads/{lead_id}/dial: the agent dials the lead they preview."""
        await services.dialer.dial_preview(_campaign_id(request), _lead_id(request), agent.interfaces)
        return web.json_response({"dialling": True}, status=202)

    @require(*ANY_ROLE)
    async def skip(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/campaigns/{id}/leads/{lead_id}/skip: pass on the previewed lead."""
        await services.dialer.skip_preview(_campaign_id(request), _lead_id(request), agent.interfaces)
        return web.json_response({"skipped": True})

    @require(*ANY_ROLE)
    async def disposition(request: web.Request, agent: Agent) -> web.Response:
        """POST /api/leads/{lead_id}/disposition {disposition, note?, callback_at?}."""
        body = await json_object(request)
        value = body.get("disposition")
        note = body.get("note", "")
        if not isinstance(value, str) or not isinstance(note, str) or len(note) > 2000:
            raise ValidationFailedError(
                {"disposition": "a disposition, and a note of at most 2000 characters"}
            )
        callback_at = None
        if body.get("callback_at") is not None:
            try:
                callback_at = datetime.fromisoformat(str(body["callback_at"]))
            except ValueError:
                raise ValidationFailedError({"callback_at": "an ISO 8601 date and time"}) from None
            if callback_at.tzinfo is None:
                raise ValidationFailedError({"callback_at": "include the time zone offset"})
        try:
            lead = await services.dialer.set_disposition(
                agent.interfaces, _lead_id(request), value, note, callback_at
            )
        except InvalidCampaignError as exc:
            raise ValidationFailedError({"disposition": "; ".join(exc.problems)}) from None
        return web.json_response({"lead": lead_json(lead)})

    async def page(request: web.Request) -> web.FileResponse:
        """GET /campaigns: the supervisor's campaign page."""
        return web.FileResponse(STATIC_DIR / "campaigns.html", headers={"Cache-Control": "no-cache"})

    app.router.add_get("/api/campaigns", list_campaigns)
    app.router.add_post("/api/campaigns", create_campaign)
    app.router.add_get("/api/campaigns/mine", running_campaigns)
    app.router.add_post("/api/campaigns/leave", leave)
    app.router.add_post("/api/campaigns/{campaign_id:\\d+}/state", set_state)
    app.router.add_post("/api/campaigns/{campaign_id:\\d+}/leads", upload_leads)
    app.router.add_post("/api/campaigns/{campaign_id:\\d+}/join", join)
    app.router.add_get("/api/campaigns/{campaign_id:\\d+}/preview", preview)
    app.router.add_post("/api/campaigns/{campaign_id:\\d+}/leads/{lead_id:\\d+}/dial", dial)
    app.router.add_post("/api/campaigns/{campaign_id:\\d+}/leads/{lead_id:\\d+}/skip", skip)
    app.router.add_post("/api/leads/{lead_id:\\d+}/disposition", disposition)
    app.router.add_get("/campaigns", page)


def _lead_id(request: web.Request) -> int:
    return int(request.match_info["lead_id"])
