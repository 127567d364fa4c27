"""The outbound dialer: paces each running campaign, places calls with AMI Originate, follows them.

Every dial is an `Originate` whose `ChannelId` names the attempt, so the `OriginateResponse`
and the call tracker's events for that call (its Linkedid is the ChannelId) map back to the
lead. An answered call that no agent takes within `drop_grace_s` is dropped: counted against
the abandon cap, hung up (or sent to a message), and its number rested for 72 hours.

Agents take part by joining a campaign; a seat is free, reserved for a dial (preview and
progressive), talking, in wrap-up until they set a disposition, or on an inbound call.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cti.ami_client import AmiActions
from cti.ami_protocol import AmiMessage
from cti.campaigns import (
    DISPOSITIONS,
    Campaign,
    CampaignState,
    DialMethod,
    DialOutcome,
    DropAction,
    Lead,
    originate_result,
)
from cti.dialer_store import CampaignCounts, DialerStore
from cti.errors import CtiError, InvalidCampaignError, NotDiallableError
from cti.events import CallAnswered, CallEnded, CallEvent, CallOffered, OfferRetracted
from cti.pacing import Pacer, PacingSettings, PacingSnapshot
from cti.screen_pop import CallerCardLike, CallerLookup

log = logging.getLogger(__name__)


class EscalatedCustomers(Protocol):
    """Port: does this customer have an open escalated ticket? (No sales call to them.)"""

    async def has_overdue_ticket(self, customer_id: int) -> bool:
        """True while the customer has an open ticket past a deadline (the tickets' service).

        A breached deadline is what escalates a ticket: the ladder starts at the first breach.
        """
        ...


@dataclass(frozen=True, slots=True)
class OutboundPop:
    """What the agent who takes an outbound call sees: the lead, its customer, the script."""

    call_id: str
    campaign_id: int
    campaign_name: str
    script: str
    lead: Lead
    card: CallerCardLike | None


class OutboundSink(Protocol):
    """Port: deliver an outbound pop to the agent on `interface`."""

    def outbound_connected(self, interface: str, pop: OutboundPop) -> None:
        """Queue the pop for the sockets of the agent owning `interface`."""
        ...


@dataclass(frozen=True)
class DialerSettings:
    """How this node dials: its name, the context that reaches customers, and its timings."""

    node: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    trunk_context: str = "customers"
    tick_s: float = 1.0
    drop_grace_s: float = 2.0
    lease_s: float = 120.0
    wrapup_timeout_s: float = 300.0
    reload_s: float = 5.0
    suppression_recheck_s: float = 3600.0
    skipped_rest_s: float = 900.0
    default_timezone: str = "Asia/Ho_Chi_Minh"


class SeatState(enum.Enum):
    """Where an agent in a campaign stands."""

    FREE = "free"
    RESERVED = "reserved"  # a preview or progressive dial is ringing for them
    TALKING = "talking"
    WRAPUP = "wrapup"  # the call ended; waiting for the disposition
    INBOUND = "inbound"  # busy with a call that is not the campaign's


@dataclass
class _Seat:
    campaign_id: int
    state: SeatState = SeatState.FREE
    since: float = 0.0
    lead_id: int | None = None
    preview: Lead | None = None


@dataclass
class _Attempt:
    channel_id: str
    lead: Lead
    campaign: Campaign
    dialled_at: float
    agent_interface: str | None
    channel: str = ""
    answered_at: float | None = None
    connected: bool = False
    drop_timer: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    """The live figures of one campaign for the supervisor page."""

    campaign: Campaign
    counts: CampaignCounts
    pacing: PacingSnapshot
    agents_busy: int
    agents_idle: int
    in_flight: int


def _channel_id() -> str:
    return f"hl-{uuid.uuid4().hex[:24]}"


class Dialer:
    """Dials the running campaigns of this node and follows every call to its disposition."""

    # The AMI events `on_ami_event` reads: the results of its originates.
    EVENT_NAMES = frozenset({"OriginateResponse"})

    def __init__(
        self,
        store: DialerStore,
        ami: AmiActions,
        lookup: CallerLookup,
        escalations: EscalatedCustomers,
        sink: OutboundSink,
        *,
        settings: DialerSettings | None = None,
        pacing: PacingSettings | None = None,
        clock: Callable[[], float] = time.time,
        available: Callable[[str], bool] = lambda interface: True,
    ) -> None:
        self._store = store
        self._ami = ami
        self._lookup = lookup
        self._escalations = escalations
        self._sink = sink
        self._settings = settings or DialerSettings()
        # The pacer forecasts drops with the same grace the dialer enforces.
        self._pacing = replace(pacing or PacingSettings(), drop_grace_s=self._settings.drop_grace_s)
        self._clock = clock
        # What Asterisk says of the agent (on an inbound call, paused): a seat free for the
        # campaign is dialled for only while its agent is also free on the PBX.
        self._available = available
        self._campaigns: dict[int, Campaign] = {}
        self._pacers: dict[int, Pacer] = {}
        self._seats: dict[str, _Seat] = {}
        self._attempts: dict[str, _Attempt] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    # -- agents ----------------------------------------------------------------------------

    def join(self, campaign_id: int, interfaces: Iterable[str]) -> None:
        """The agent owning `interfaces` takes calls of this campaign from now on."""
        for interface in interfaces:
            seat = self._seats.get(interface)
            if seat is None or seat.campaign_id != campaign_id:
                self._seats[interface] = _Seat(campaign_id, since=self._clock())

    def leave(self, interfaces: Iterable[str]) -> None:
        """The agent stops taking campaign calls (a call in progress goes on)."""
        for interface in interfaces:
            seat = self._seats.pop(interface, None)
            if seat is not None and seat.preview is not None:
                self._spawn(self._store.release_lead(seat.preview.id, None))

    def seat_of(self, interfaces: Iterable[str]) -> tuple[str, int, SeatState] | None:
        """(interface, campaign id, state) of the agent's seat, if they joined a campaign."""
        for interface in interfaces:
            seat = self._seats.get(interface)
            if seat is not None:
                return interface, seat.campaign_id, seat.state
        return None

    # -- what the PBX says -----------------------------------------------------------------

    def on_ami_event(self, message: AmiMessage) -> None:
        """Take an AMI event; OriginateResponses of this node's dials are followed up."""
        result = originate_result(message)
        if result is None or result.channel_id not in self._attempts:
            return
        self._spawn(self._on_result(result.channel_id, result.outcome, result.channel))

    def on_call_event(self, event: CallEvent) -> None:
        """Take the call tracker's events: connections, and agents busy with other calls."""
        now = self._clock()
        if isinstance(event, CallOffered):
            # An inbound call ringing a campaign agent: nothing is dialled for them meanwhile.
            seat = self._seats.get(event.interface)
            if event.call_id not in self._attempts and seat is not None and seat.state is SeatState.FREE:
                seat.state, seat.since = SeatState.INBOUND, now
        elif isinstance(event, OfferRetracted):
            seat = self._seats.get(event.interface)
            if seat is not None and seat.state is SeatState.INBOUND:
                seat.state, seat.since = SeatState.FREE, now
        elif isinstance(event, CallAnswered):
            attempt = self._attempts.get(event.call_id)
            if attempt is not None:
                self._connected(attempt, event.interface, now)
                return
            seat = self._seats.get(event.interface)
            if seat is not None and seat.state is SeatState.FREE:
                seat.state, seat.since = SeatState.INBOUND, now
        elif isinstance(event, CallEnded):
            attempt = self._attempts.get(event.call_id)
            if attempt is not None and attempt.answered_at is not None:
                del self._attempts[event.call_id]
                if not attempt.connected:
                    # The customer hung up inside the grace: no agent reached them, so it is a drop.
                    if attempt.drop_timer is not None:
                        attempt.drop_timer.cancel()
                    self._spawn(self._drop(attempt, end_call=False))
            interface = event.interface
            seat = self._seats.get(interface) if interface is not None else None
            if seat is None:
                return
            if attempt is not None and attempt.connected and seat.state is SeatState.TALKING:
                seat.state = SeatState.WRAPUP  # `since` stays at the connect: handle time runs on
            elif seat.state is SeatState.INBOUND:
                seat.state, seat.since = SeatState.FREE, now

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and the next one tries again."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer tick failed; trying again in %.1f s", self._settings.tick_s)
            await asyncio.sleep(self._settings.tick_s)

    async def tick(self) -> int:
        """One pass over the running campaigns: place the calls pacing asks for; returns how many."""
        async with self._lock:
            now = self._clock()
            if now - self._loaded_at >= self._settings.reload_s:
                await self._reload()
                self._loaded_at = now
            self._expire_wrapups(now)
            if not self._ami.connected:
                return 0
            placed = 0
            for campaign in self._campaigns.values():
                if campaign.state is CampaignState.RUNNING:
                    placed += await self._pace(campaign, now)
            return placed

    async def close(self) -> None:
        """Cancel work in flight (at shutdown) and give reserved leads back to the pool."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for seat in self._seats.values():
            if seat.preview is not None:
                with contextlib.suppress(Exception):
                    await self._store.release_lead(seat.preview.id, None)

    async def _reload(self) -> None:
        campaigns = {c.id: c for c in await self._store.campaigns()}
        for campaign_id, campaign in campaigns.items():
            if campaign_id not in self._pacers:
                pacer = Pacer(_pacing_for(self._pacing, campaign), self._clock)
                counts = await self._store.counts(campaign_id, self._now_dt())
                pacer.seed_history(
                    counts.answered_30d, counts.dropped_30d, counts.answered_24h, counts.dropped_24h
                )
                self._pacers[campaign_id] = pacer
        self._campaigns = campaigns

    def _expire_wrapups(self, now: float) -> None:
        for seat in self._seats.values():
            if seat.state is SeatState.WRAPUP and now - seat.since > self._settings.wrapup_timeout_s:
                seat.state, seat.since, seat.lead_id = SeatState.FREE, now, None

    async def _pace(self, campaign: Campaign, now: float) -> int:
        seats = [(i, s) for i, s in self._seats.items() if s.campaign_id == campaign.id]
        free = [i for i, s in seats if s.state is SeatState.FREE and self._available(i)]
        busy = [now - s.since for _, s in seats if s.state in (SeatState.TALKING, SeatState.WRAPUP)]
        in_flight = [
            now - a.dialled_at
            for a in self._attempts.values()
            if a.campaign.id == campaign.id and a.answered_at is None and a.agent_interface is None
        ]
        method = campaign.spec.dial_method
        wanted = self._pacers[campaign.id].calls_to_place(
            method, free_agents=len(free), busy_elapsed_s=busy, in_flight_ages_s=in_flight
        )
        if wanted <= 0:
            return 0
        leads = await self._store.reserve_leads(
            campaign.id, wanted, node=self._settings.node, now=self._now_dt(), lease_s=self._settings.lease_s
        )
        placed = 0
        for lead in leads:
            if await self._suppressed(campaign, lead):
                continue
            # Progressive: the call is for one agent, who waits for it.
            agent = free.pop(0) if method is DialMethod.PROGRESSIVE and free else None
            if await self._originate(campaign, lead, agent):
                placed += 1
        return placed

    async def _suppressed(self, campaign: Campaign, lead: Lead) -> bool:
        """No sales call to a customer with an open escalated ticket: the lead waits."""
        if not campaign.spec.sales:
            return False
        customer_id = lead.customer_id
        if customer_id is None:
            card = await self._lookup.caller_card(lead.phone)
            customer_id = card.customer.id if card is not None else None
        if customer_id is None or not await self._escalations.has_overdue_ticket(customer_id):
            return False
        log.info("lead %d not dialled: customer %d has an open escalated ticket", lead.id, customer_id)
        later = self._now_dt() + timedelta(seconds=self._settings.suppression_recheck_s)
        await self._store.release_lead(lead.id, later)
        return True

    async def _originate(self, campaign: Campaign, lead: Lead, agent: str | None) -> bool:
        """Send one Originate for a reserved lead; False (and the lead failed) when it is refused."""
        spec = campaign.spec
        channel_id = _channel_id()
        now = self._clock()
        await self._store.record_dial(
            channel_id, lead, node=self._settings.node, agent_interface=agent, now=self._now_dt()
        )
        attempt = _Attempt(channel_id, lead, campaign, now, agent)
        self._attempts[channel_id] = attempt
        if agent is not None:
            seat = self._seats[agent]
            seat.state, seat.since, seat.lead_id = SeatState.RESERVED, now, lead.id
        fields = [
            ("Channel", f"Local/{lead.phone}@{self._settings.trunk_context}"),
            ("Context", spec.dial_context),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", str(spec.dial_timeout_s * 1000)),
            ("CallerID", spec.caller_id),
            ("ChannelId", channel_id),
            ("OtherChannelId", f"{channel_id}-b"),
            ("Async", "true"),
            ("Variable", f"HOTLINE_CAMPAIGN={campaign.id}"),
            ("Variable", f"CAMPAIGN_QUEUE={spec.queue}"),
        ]
        if agent is not None:
            fields.append(("Variable", f"HOTLINE_AGENT={agent}"))
        try:
            await self._ami.action("Originate", fields)
        except CtiError as exc:
            log.warning("Originate for lead %d refused: %s", lead.id, exc)
            await self._on_result(channel_id, DialOutcome.FAILED, "")
            return False
        return True

    async def _on_result(self, channel_id: str, outcome: DialOutcome, channel: str) -> None:
        attempt = self._attempts.get(channel_id)
        if attempt is None:
            return
        now = self._clock()
        answered = outcome is DialOutcome.ANSWERED
        pacer = self._pacers.get(attempt.campaign.id)
        if pacer is not None:
            pacer.record_attempt(answered, now - attempt.dialled_at)
        await self._store.record_outcome(channel_id, outcome, attempt.campaign.spec.retry, self._now_dt())
        if not answered:
            self._attempts.pop(channel_id, None)
            self._free_reserved(attempt, now)
            return
        attempt.answered_at = now
        attempt.channel = channel
        if not attempt.connected:
            attempt.drop_timer = self._spawn(self._drop_unless_connected(attempt))

    def _free_reserved(self, attempt: _Attempt, now: float) -> None:
        if attempt.agent_interface is None:
            return
        seat = self._seats.get(attempt.agent_interface)
        if seat is not None and seat.state is SeatState.RESERVED and seat.lead_id == attempt.lead.id:
            seat.state, seat.since, seat.lead_id = SeatState.FREE, now, None

    def _connected(self, attempt: _Attempt, interface: str, now: float) -> None:
        if attempt.connected:
            return
        attempt.connected = True
        if attempt.drop_timer is not None:
            attempt.drop_timer.cancel()
        pacer = self._pacers.get(attempt.campaign.id)
        if pacer is not None:
            pacer.record_answered(dropped=False)
        if attempt.agent_interface not in (None, interface):
            self._free_reserved(attempt, now)
        seat = self._seats.get(interface)
        if seat is not None:
            seat.state, seat.since, seat.lead_id = SeatState.TALKING, now, attempt.lead.id
        self._spawn(self._announce(attempt, interface))

    async def _announce(self, attempt: _Attempt, interface: str) -> None:
        await self._store.record_connected(attempt.channel_id, interface)
        try:
            card = await self._lookup.caller_card(attempt.lead.phone)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("customer lookup for lead %d failed; popping the lead alone", attempt.lead.id)
            card = None
        spec = attempt.campaign.spec
        pop = OutboundPop(attempt.channel_id, attempt.campaign.id, spec.name, spec.script, attempt.lead, card)
        self._sink.outbound_connected(interface, pop)

    async def _drop_unless_connected(self, attempt: _Attempt) -> None:
        await asyncio.sleep(self._settings.drop_grace_s)
        if not attempt.connected:
            await self._drop(attempt, end_call=True)

    async def _drop(self, attempt: _Attempt, *, end_call: bool) -> None:
        """Count an answered call no agent took as dropped, rest its number, and end it."""
        self._attempts.pop(attempt.channel_id, None)
        pacer = self._pacers.get(attempt.campaign.id)
        if pacer is not None:
            pacer.record_answered(dropped=True)
        self._free_reserved(attempt, self._clock())
        log.warning(
            "call %s to lead %d answered with no agent free within %.0f s: dropped",
            attempt.channel_id,
            attempt.lead.id,
            self._settings.drop_grace_s,
        )
        await self._store.record_drop(attempt.channel_id, self._now_dt())
        spec = attempt.campaign.spec
        if not end_call or not attempt.channel:
            return
        try:
            if spec.drop_action is DropAction.MESSAGE:
                await self._ami.action(
                    "Redirect",
                    [
                        ("Channel", attempt.channel),
                        ("Context", spec.drop_message_context),
                        ("Exten", "s"),
                        ("Priority", "1"),
                    ],
                )
            else:
                await self._ami.action("Hangup", [("Channel", attempt.channel), ("Cause", "16")])
            log.info("dropped call %s ended by %s", attempt.channel_id, spec.drop_action.value)
        except CtiError as exc:
            log.warning("could not end dropped call %s: %s", attempt.channel_id, exc)

    # -- what agents do --------------------------------------------------------------------

    async def preview_next(self, campaign_id: int, interfaces: Iterable[str]) -> tuple[Campaign, Lead | None]:
        """The lead an agent previews next in a preview campaign (held for them until dialled)."""
        _, seat = self._seat_for(interfaces, campaign_id)
        campaign = await self._store.campaign(campaign_id)
        if campaign.spec.dial_method is not DialMethod.PREVIEW:
            raise InvalidCampaignError([f"campaign {campaign.spec.name!r} does not dial by preview"])
        if campaign.state is not CampaignState.RUNNING:
            raise InvalidCampaignError([f"campaign {campaign.spec.name!r} is {campaign.state.value}"])
        if seat.preview is None:
            while True:
                leads = await self._store.reserve_leads(
                    campaign_id,
                    1,
                    node=self._settings.node,
                    now=self._now_dt(),
                    lease_s=self._settings.wrapup_timeout_s,
                )
                if not leads:
                    break
                if not await self._suppressed(campaign, leads[0]):
                    seat.preview = leads[0]
                    break
        return campaign, seat.preview

    async def dial_preview(self, campaign_id: int, lead_id: int, interfaces: Iterable[str]) -> None:
        """The agent clicks to dial the lead they preview."""
        interface, seat = self._seat_for(interfaces, campaign_id)
        lead = seat.preview
        if lead is None or lead.id != lead_id:
            raise NotDiallableError(lead_id, "it is not the lead you are previewing")
        if seat.state is not SeatState.FREE:
            raise NotDiallableError(lead_id, f"you are {seat.state.value}")
        campaign = await self._store.campaign(campaign_id)
        seat.preview = None
        await self._originate(campaign, lead, interface)

    async def skip_preview(self, campaign_id: int, lead_id: int, interfaces: Iterable[str]) -> None:
        """The agent passes on the lead they preview; it goes back to the pool for a while."""
        _, seat = self._seat_for(interfaces, campaign_id)
        if seat.preview is not None and seat.preview.id == lead_id:
            seat.preview = None
            later = self._now_dt() + timedelta(seconds=self._settings.skipped_rest_s)
            await self._store.release_lead(lead_id, later)

    async def set_disposition(
        self,
        interfaces: Iterable[str],
        lead_id: int,
        disposition: str,
        note: str,
        callback_at: datetime | None,
    ) -> Lead:
        """The agent's verdict on the call they had with a lead; frees their seat."""
        if disposition not in DISPOSITIONS:
            raise InvalidCampaignError([f"disposition must be one of {', '.join(DISPOSITIONS)}"])
        if disposition == "callback" and callback_at is None:
            raise InvalidCampaignError(["a callback needs callback_at"])
        now = self._clock()
        retry_at = callback_at if disposition == "callback" else None
        if disposition == "answering_machine":
            lead = await self._store.lead(lead_id)
            campaign = await self._store.campaign(lead.campaign_id)
            retry_at = campaign.spec.retry.next_attempt_at(DialOutcome.MACHINE, lead.attempts, self._now_dt())
        lead = await self._store.set_disposition(lead_id, disposition, note, retry_at, self._now_dt())
        for interface in interfaces:
            seat = self._seats.get(interface)
            if seat is not None and seat.lead_id == lead_id:
                pacer = self._pacers.get(seat.campaign_id)
                if pacer is not None and seat.state in (SeatState.TALKING, SeatState.WRAPUP):
                    pacer.record_handle_time(now - seat.since)
                seat.state, seat.since, seat.lead_id = SeatState.FREE, now, None
        return lead

    async def status(self, campaign_id: int) -> CampaignStatus:
        """Dialled, answered, dropped, abandon rates, agents and pacing of one campaign."""
        campaign = await self._store.campaign(campaign_id)
        counts = await self._store.counts(campaign_id, self._now_dt())
        pacer = self._pacers.get(campaign_id)
        if pacer is None:
            pacer = Pacer(_pacing_for(self._pacing, campaign), self._clock)
            pacer.seed_history(
                counts.answered_30d, counts.dropped_30d, counts.answered_24h, counts.dropped_24h
            )
        seats = [s for s in self._seats.values() if s.campaign_id == campaign_id]
        idle = sum(1 for s in seats if s.state is SeatState.FREE)
        in_flight = sum(
            1 for a in self._attempts.values() if a.campaign.id == campaign_id and not a.connected
        )
        return CampaignStatus(campaign, counts, pacer.snapshot(), len(seats) - idle, idle, in_flight)

    def _seat_for(self, interfaces: Iterable[str], campaign_id: int) -> tuple[str, _Seat]:
        for interface in interfaces:
            seat = self._seats.get(interface)
            if seat is not None and seat.campaign_id == campaign_id:
                return interface, seat
        raise InvalidCampaignError([f"join campaign {campaign_id} first"])

    def _now_dt(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("dialer work failed: %r", task.exception(), exc_info=task.exception())


def _pacing_for(base: PacingSettings, campaign: Campaign) -> PacingSettings:
    """The pacing settings with the campaign's own abandon cap."""
    return replace(base, abandon_cap=campaign.spec.abandon_cap)
