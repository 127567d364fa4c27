"""Outbound campaigns over HTTP: the supervisor's campaign page and the agent's campaign calls.

Supervisors create campaigns, load leads (CSV), start, pause and stop them and watch their
figures; agents join a campaign, preview and dial leads (preview campaigns) and set the
disposition of each call. Outbound pops reach the agent's socket as `outbound_pop` events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any

import msgspec
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
from web_agent.api import ANY_ROLE, SUPERVISORS
from web_agent.app import STATIC_DIR
from web_agent.errors import ValidationFailedError
from web_agent.routes import JsonBody, PathId, PathParams, Reply, Routes
from web_agent.shapes import card_json

log = logging.getLogger(__name__)

ROUTES = Routes("campaigns")
MAX_LEADS_BYTES = 8 * 1024 * 1024
_FOUND = ("campaigns.not_found",)
_LEAD = ("campaigns.not_found", "campaigns.lead_not_found", "campaigns.not_diallable")


@dataclass(frozen=True)
class CampaignServices:
    """What the campaign endpoints need, built by hotline/app.py."""

    dialer: Dialer
    campaigns: CampaignService
    normalise_phone: PhoneNormaliser
    default_timezone: str


CAMPAIGNS = web.AppKey("campaigns", CampaignServices)


class LeadView(Reply):
    """A lead as the desktop shows it."""

    id: int
    campaign_id: int
    name: str
    phone: str
    timezone: str
    attempts: int
    status: str
    disposition: str | None

    @classmethod
    def of(cls, lead: Lead) -> LeadView:
        """The view of a lead."""
        return cls(
            id=lead.id,
            campaign_id=lead.campaign_id,
            name=lead.name,
            phone=lead.phone,
            timezone=lead.timezone,
            attempts=lead.attempts,
            status=lead.status,
            disposition=lead.disposition,
        )


def outbound_pop_json(pop: OutboundPop) -> dict[str, Any]:
    """The data of an `outbound_pop` event (the lead as the REST replies show it)."""
    customer, interactions = card_json(pop.card)
    return {
        "call_id": pop.call_id,
        "direction": "outbound",
        "campaign": {"id": pop.campaign_id, "name": pop.campaign_name, "script": pop.script},
        "lead": msgspec.to_builtins(LeadView.of(pop.lead)),
        "customer": customer,
        "interactions": interactions,
    }


class CallingWindow(Reply):
    """The local hours the campaign dials in (HH:MM)."""

    start: str
    end: str


class RetryDelays(Reply):
    """Seconds before a lead is dialled again, per outcome."""

    busy: int
    no_answer: int
    failed: int
    machine: int


class CampaignView(Reply):
    """A campaign's settings."""

    id: int
    name: str
    queue: str
    dial_method: DialMethod
    state: CampaignState
    caller_id: str
    script: str
    window: CallingWindow
    max_attempts: int
    retry_s: RetryDelays
    sales: bool
    drop_action: DropAction
    abandon_cap: float

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignView:
        """The view of a campaign."""
        s = campaign.spec
        return cls(
            id=campaign.id,
            name=s.name,
            queue=s.queue,
            dial_method=s.dial_method,
            state=campaign.state,
            caller_id=s.caller_id,
            script=s.script,
            window=CallingWindow(s.window_start.isoformat("minutes"), s.window_end.isoformat("minutes")),
            max_attempts=s.retry.max_attempts,
            retry_s=RetryDelays(s.retry.busy_s, s.retry.no_answer_s, s.retry.failed_s, s.retry.machine_s),
            sales=s.sales,
            drop_action=s.drop_action,
            abandon_cap=s.abandon_cap,
        )


class LiveFigures(Reply):
    """A campaign's figures now: calls over 24 hours and 30 days, agents, pacing, leads left."""

    dialled_24h: int
    answered_24h: int
    dropped_24h: int
    abandon_rate_24h: float
    answered_30d: int
    dropped_30d: int
    abandon_rate_30d: float
    agents_busy: int
    agents_idle: int
    in_flight: int
    pacing_level: float
    answer_rate: float
    capped: bool
    leads_total: int
    leads_remaining: int


class CampaignFigures(CampaignView):
    """A campaign with its live figures, for the supervisor page."""

    live: LiveFigures

    @classmethod
    def of_status(cls, status: CampaignStatus) -> CampaignFigures:
        """The view of a campaign's status."""
        c, p = status.counts, status.pacing
        live = LiveFigures(
            dialled_24h=c.dialled_24h,
            answered_24h=c.answered_24h,
            dropped_24h=c.dropped_24h,
            abandon_rate_24h=c.dropped_24h / c.answered_24h if c.answered_24h else 0.0,
            answered_30d=c.answered_30d,
            dropped_30d=c.dropped_30d,
            abandon_rate_30d=c.dropped_30d / c.answered_30d if c.answered_30d else 0.0,
            agents_busy=status.agents_busy,
            agents_idle=status.agents_idle,
            in_flight=status.in_flight,
            pacing_level=round(p.level, 3),
            answer_rate=round(p.answer_rate, 3),
            capped=p.capped,
            leads_total=c.leads_total,
            leads_remaining=c.leads_remaining,
        )
        return cls(**msgspec.structs.asdict(CampaignView.of(status.campaign)), live=live)


Seconds = Annotated[int, msgspec.Meta(ge=0, le=30 * 86_400)]
Clock = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", extra={"expected": "a time of day as HH:MM"}
    ),
]


class CampaignBody(JsonBody):
    """A new campaign's settings; the spec checks names, the caller id and the window (InvalidCampaignError)."""

    name: Annotated[str, msgspec.Meta(max_length=80)]
    queue: Annotated[str, msgspec.Meta(max_length=80)]
    caller_id: Annotated[str, msgspec.Meta(max_length=80)]
    dial_method: DialMethod = DialMethod.PREDICTIVE
    drop_action: DropAction = DropAction.HANGUP
    script: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    window_start: Clock = "08:00"
    window_end: Clock = "21:00"
    abandon_cap: float = 0.03
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 3
    retry_busy_s: Seconds = 600
    retry_no_answer_s: Seconds = 3600
    retry_failed_s: Seconds = 1800
    retry_machine_s: Seconds = 7200
    sales: bool = True

    def spec(self) -> CampaignSpec:
        """The campaign spec; what it refuses is one problem under `campaign`."""
        try:
            return CampaignSpec(
                name=self.name.strip(),
                queue=self.queue.strip(),
                dial_method=self.dial_method,
                caller_id=self.caller_id.strip(),
                script=self.script,
                window_start=time.fromisoformat(self.window_start),
                window_end=time.fromisoformat(self.window_end),
                retry=RetryPolicy(
                    max_attempts=self.max_attempts,
                    busy_s=self.retry_busy_s,
                    no_answer_s=self.retry_no_answer_s,
                    failed_s=self.retry_failed_s,
                    machine_s=self.retry_machine_s,
                ),
                sales=self.sales,
                drop_action=self.drop_action,
                abandon_cap=self.abandon_cap,
            )
        except InvalidCampaignError as exc:
            raise ValidationFailedError({"campaign": "; ".join(exc.problems)}) from None


class CampaignPath(PathParams):
    """A campaign."""

    campaign_id: PathId


class LeadPath(PathParams):
    """A lead of a campaign."""

    campaign_id: PathId
    lead_id: PathId


class DispositionPath(PathParams):
    """A lead."""

    lead_id: PathId


class CampaignList(Reply):
    """Every campaign with its live figures."""

    campaigns: list[CampaignFigures]


class Seat(Reply):
    """The campaign an agent joined, and whether they are free for its calls."""

    campaign_id: int
    state: str


class RunningCampaigns(Reply):
    """The running campaigns an agent may join, and the one they joined."""

    campaigns: list[CampaignView]
    joined: Seat | None


class CampaignReply(Reply):
    """One campaign."""

    campaign: CampaignView


class StateBody(JsonBody):
    """What the dialer should do with the campaign."""

    state: CampaignState


class RejectedRow(Reply):
    """A row that was not imported: its line and why."""

    line: int
    reason: str


class MergedRow(Reply):
    """A row merged into an earlier one as the same person."""

    line: int
    into_line: int
    reason: str


class ImportReport(Reply):
    """What an import did: leads created and updated, rows refused and rows merged."""

    created: int
    updated: int
    rejected: list[RejectedRow]
    merged: list[MergedRow]


class Joined(Reply):
    """The campaign the agent takes calls of now (null: none)."""

    joined: Seat | None


class Preview(Reply):
    """The campaign, and the next lead for the agent to look at (null: none left now)."""

    campaign: CampaignView
    lead: LeadView | None


class Dialling(Reply):
    """The dial was handed to the PBX."""

    dialling: bool


class Skipped(Reply):
    """The lead was passed on."""

    skipped: bool


class DispositionBody(JsonBody):
    """How the call ended for the campaign, a note, and when to call back (with its offset)."""

    disposition: Annotated[str, msgspec.Meta(max_length=40)]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    callback_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class LeadReply(Reply):
    """One lead."""

    lead: LeadView


def _services(request: web.Request) -> CampaignServices:
    return request.app[CAMPAIGNS]


@ROUTES.get("/api/campaigns", roles=SUPERVISORS)
async def list_campaigns(request: web.Request, agent: Agent) -> CampaignList:
    """Every campaign with its live figures: calls, abandon rates, agents, pacing level and leads left."""
    services = _services(request)
    campaigns = await services.campaigns.campaigns()
    statuses = [await services.dialer.status(c.id) for c in campaigns]
    return CampaignList([CampaignFigures.of_status(s) for s in statuses])


@ROUTES.post("/api/campaigns", roles=SUPERVISORS, status=201)
async def create_campaign(request: web.Request, agent: Agent, *, body: CampaignBody) -> CampaignReply:
    """Create a campaign, paused."""
    spec = body.spec()
    try:
        campaign = await _services(request).campaigns.create_campaign(spec)
    except InvalidCampaignError as exc:
        raise ValidationFailedError({"name": "; ".join(exc.problems)}) from None
    log.info("supervisor %s created campaign %d (%s)", agent.username, campaign.id, spec.name)
    return CampaignReply(CampaignView.of(campaign))


@ROUTES.get("/api/campaigns/mine", roles=ANY_ROLE)
async def running_campaigns(request: web.Request, agent: Agent) -> RunningCampaigns:
    """The running campaigns an agent may join, and the one they joined."""
    services = _services(request)
    campaigns = [c for c in await services.campaigns.campaigns() if c.state is CampaignState.RUNNING]
    seat = services.dialer.seat_of(agent.interfaces)
    return RunningCampaigns(
        campaigns=[CampaignView.of(c) for c in campaigns],
        joined=None if seat is None else Seat(seat[1], seat[2].value),
    )


@ROUTES.post("/api/campaigns/{campaign_id}/state", roles=SUPERVISORS, errors=_FOUND)
async def set_state(
    request: web.Request, agent: Agent, *, path: CampaignPath, body: StateBody
) -> CampaignReply:
    """Start, pause or stop a campaign."""
    campaign = await _services(request).campaigns.set_state(path.campaign_id, body.state)
    log.info("supervisor %s set campaign %d %s", agent.username, campaign.id, body.state.value)
    return CampaignReply(CampaignView.of(campaign))


@ROUTES.post("/api/campaigns/{campaign_id}/leads", roles=SUPERVISORS, errors=_FOUND, upload="text/csv")
async def upload_leads(request: web.Request, agent: Agent, *, path: CampaignPath) -> ImportReport:
    """Import leads from a CSV file (text/csv; columns phone,name[,timezone]).

    Bad rows are listed and duplicates merged.
    """
    services = _services(request)
    await services.campaigns.campaign(path.campaign_id)
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
    report = await services.campaigns.import_leads(path.campaign_id, parsed)
    return ImportReport(
        created=report.created,
        updated=report.updated,
        rejected=[RejectedRow(r.line, r.reason) for r in report.rejected],
        merged=[MergedRow(m.line, m.into_line, m.reason) for m in report.merged],
    )


@ROUTES.post("/api/campaigns/{campaign_id}/join", roles=ANY_ROLE, errors=_FOUND)
async def join(request: web.Request, agent: Agent, *, path: CampaignPath) -> Joined:
    """Take this campaign's calls."""
    services = _services(request)
    campaign = await services.campaigns.campaign(path.campaign_id)
    if not agent.interfaces:
        raise ValidationFailedError({"agent": "you have no phone interface to take calls on"})
    services.dialer.leave(agent.interfaces)
    services.dialer.join(campaign.id, agent.interfaces[:1])
    return Joined(Seat(campaign.id, "free"))


@ROUTES.post("/api/campaigns/leave", roles=ANY_ROLE)
async def leave(request: web.Request, agent: Agent) -> Joined:
    """Stop taking campaign calls."""
    _services(request).dialer.leave(agent.interfaces)
    return Joined(None)


@ROUTES.get("/api/campaigns/{campaign_id}/preview", roles=ANY_ROLE, errors=(*_FOUND, "validation.failed"))
async def preview(request: web.Request, agent: Agent, *, path: CampaignPath) -> Preview:
    """The next lead for the agent to look at and dial (preview campaigns)."""
    campaign, lead = await _services(request).dialer.preview_next(path.campaign_id, agent.interfaces)
    return Preview(CampaignView.of(campaign), None if lead is None else LeadView.of(lead))


@ROUTES.post("/api/campaigns/{campaign_id}/leads/{lead_id}/dial", roles=ANY_ROLE, status=202, errors=_LEAD)
async def dial(request: web.Request, agent: Agent, *, path: LeadPath) -> Dialling:
    """Dial the previewed lead (Originate)."""
    await _services(request).dialer.dial_preview(path.campaign_id, path.lead_id, agent.interfaces)
    return Dialling(True)


@ROUTES.post("/api/campaigns/{campaign_id}/leads/{lead_id}/skip", roles=ANY_ROLE, errors=_LEAD)
async def skip(request: web.Request, agent: Agent, *, path: LeadPath) -> Skipped:
    """Pass on the previewed lead."""
    await _services(request).dialer.skip_preview(path.campaign_id, path.lead_id, agent.interfaces)
    return Skipped(True)


@ROUTES.post("/api/leads/{lead_id}/disposition", roles=ANY_ROLE, errors=_LEAD)
async def disposition(
    request: web.Request, agent: Agent, *, path: DispositionPath, body: DispositionBody
) -> LeadReply:
    """The agent's disposition of a campaign call."""
    try:
        lead = await _services(request).dialer.set_disposition(
            agent.interfaces, path.lead_id, body.disposition, body.note, body.callback_at
        )
    except InvalidCampaignError as exc:
        raise ValidationFailedError({"disposition": "; ".join(exc.problems)}) from None
    return LeadReply(LeadView.of(lead))


async def campaigns_page(request: web.Request) -> web.FileResponse:
    """GET /campaigns: the supervisor's campaign page."""
    return web.FileResponse(STATIC_DIR / "campaigns.html", headers={"Cache-Control": "no-cache"})


def add_campaign_routes(app: web.Application, services: CampaignServices) -> None:
    """Register the campaign endpoints and the supervisor page on the application."""
    app[CAMPAIGNS] = services
    ROUTES.add_to(app)
    app.router.add_get("/campaigns", campaigns_page)
