"""The dialer end to end: real PostgreSQL, the PBX simulator over AMI, the call tracker in between."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time as clock_time

import asyncpg
import pytest

from cti.ami_client import AmiClient, AmiSettings
from cti.ami_protocol import AmiMessage
from cti.calls import CallTracker
from cti.campaigns import CampaignSpec, CampaignState, DialMethod, Lead
from cti.dialer import Dialer, DialerSettings, OutboundPop, SeatState
from cti.dialer_store import DialerStore, NewLead
from cti.events import CallOffered, OfferRetracted, RetractReason
from cti.screen_pop import CallerCardLike
from cti.simulator import PbxSimulator, SimulatorSettings
from tests.conftest import _create_migrated_database, eventually

pytestmark = pytest.mark.db
ALICE, BOB = "Local/1001@agents", "Local/1002@agents"
ALL_DAY = {"window_start": clock_time(0, 0), "window_end": clock_time(23, 59)}


@dataclass
class Pops:
    received: list[tuple[str, OutboundPop]] = field(default_factory=list)

    def outbound_connected(self, interface: str, pop: OutboundPop) -> None:
        self.received.append((interface, pop))


class NoCustomers:
    async def caller_card(self, raw_number: str) -> CallerCardLike | None:
        return None


@dataclass
class Escalations:
    escalated: set[int] = field(default_factory=set)

    async def has_overdue_ticket(self, customer_id: int) -> bool:
        return customer_id in self.escalated


@dataclass
class Rig:
    dialer: Dialer
    store: DialerStore
    pool: asyncpg.Pool
    pops: Pops
    escalations: Escalations
    simulator: PbxSimulator
    # Interfaces the PBX reports busy (an inbound call, a pause): the dialer's `available` port.
    busy: set[str]

    async def campaign(self, method: DialMethod, leads: list[NewLead], **changes: object) -> int:
        spec = CampaignSpec(
            name=f"Campaign {method.value}",
            queue="support",
            dial_method=method,
            caller_id='"Hotline Shop" <0281234567>',
            script="Offer the winter plan.",
            **{**ALL_DAY, **changes},  # type: ignore[arg-type]
        )
        campaign = await self.store.create_campaign(spec)
        await self.store.add_leads(campaign.id, leads)
        await self.store.set_state(campaign.id, CampaignState.RUNNING)
        return campaign.id

    async def attempts(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM dial_attempts ORDER BY dialled_at")


def leads(count: int, customer_id: int | None = None) -> list[NewLead]:
    return [NewLead(f"+8490{i:07d}", f"Lead {i}", "Asia/Ho_Chi_Minh", customer_id) for i in range(count)]


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """A dialer on its own database, logged in to a simulator whose dials are all answered."""
    overrides = getattr(request, "param", {})
    url = await _create_migrated_database()
    pool = await asyncpg.create_pool(url, min_size=2, max_size=6)
    assert pool is not None
    sim_settings = {
        "secret": "sim",
        "agent_interfaces": (ALICE, BOB),
        "calls_per_minute": 0,
        "ring_s": 0.1,
        "talk_s": 0.3,
        "time_scale": 0.02,
        "seed": 3,
        "originate_answer_share": 1.0,
        "originate_busy_share": 0.0,
        "originate_ring_s": 0.05,
        "outbound_agent_ring_s": 0.05,  # well inside the 0.3 s grace below
        **overrides,
    }
    simulator = PbxSimulator(SimulatorSettings(**sim_settings))
    await simulator.start()
    tracker = CallTracker()
    store = DialerStore(pool)
    pops, escalations = Pops(), Escalations()
    busy: set[str] = set()
    holder: list[Dialer] = []

    def on_event(message: AmiMessage) -> None:
        dialer = holder[0]
        dialer.on_ami_event(message)
        for event in tracker.feed(message, time.time()):
            dialer.on_call_event(event)

    client = AmiClient(
        AmiSettings(host="127.0.0.1", port=simulator.port, username="hotline", secret="sim"),
        on_event=on_event,
    )
    dialer = Dialer(
        store,
        client,
        NoCustomers(),
        escalations,
        pops,
        settings=DialerSettings(node="test-node", drop_grace_s=0.3, reload_s=0.0),
        available=lambda interface: interface not in busy,
    )
    holder.append(dialer)
    runner = asyncio.get_running_loop().create_task(client.run())
    try:
        async with asyncio.timeout(10):
            await eventually(lambda: client.connected, timeout_s=10)
        yield Rig(dialer, store, pool, pops, escalations, simulator, busy)
    finally:
        await dialer.close()
        await client.close()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await simulator.close()
        await pool.close()


async def test_progressive_dials_one_lead_per_free_agent_and_pops_the_lead_with_the_script(rig: Rig) -> None:
    async with asyncio.timeout(20):
        campaign_id = await rig.campaign(DialMethod.PROGRESSIVE, leads(5))
        rig.dialer.join(campaign_id, [ALICE])
        assert await rig.dialer.tick() == 1
        assert await rig.dialer.tick() == 0  # Alice's call is ringing: nothing more for her
        await eventually(lambda: len(rig.pops.received) == 1, timeout_s=10)
        interface, pop = rig.pops.received[0]
        assert interface == ALICE
        assert pop.script == "Offer the winter plan."
        assert pop.lead.phone == "+84900000000"
        [attempt] = await rig.attempts()
        assert attempt["channel_id"] == pop.call_id
        assert attempt["outcome"] == "answered"
        assert attempt["agent_interface"] == ALICE
        assert rig.dialer.seat_of([ALICE]) == (ALICE, campaign_id, SeatState.TALKING)
        await eventually(lambda: rig.dialer.seat_of([ALICE]) == (ALICE, campaign_id, SeatState.WRAPUP), 10)
        assert await rig.dialer.tick() == 0  # in wrap-up until the disposition
        lead: Lead = await rig.dialer.set_disposition([ALICE], pop.lead.id, "sale", "Took the plan", None)
        assert (lead.status, lead.disposition) == ("done", "sale")
        assert rig.dialer.seat_of([ALICE]) == (ALICE, campaign_id, SeatState.FREE)
        assert await rig.dialer.tick() == 1


async def test_no_call_is_placed_for_an_agent_the_pbx_says_is_busy(rig: Rig) -> None:
    async with asyncio.timeout(20):
        campaign_id = await rig.campaign(DialMethod.PROGRESSIVE, leads(3))
        # Both took inbound calls before joining: their campaign seats are free, they are not.
        rig.busy.update((ALICE, BOB))
        rig.dialer.join(campaign_id, [ALICE, BOB])
        assert await rig.dialer.tick() == 0
        assert await rig.attempts() == []
        rig.busy.discard(BOB)
        assert await rig.dialer.tick() == 1  # one call, for Bob alone


async def test_an_inbound_call_ringing_a_campaign_agent_holds_their_dialling(rig: Rig) -> None:
    async with asyncio.timeout(20):
        campaign_id = await rig.campaign(DialMethod.PROGRESSIVE, leads(3))
        rig.dialer.join(campaign_id, [ALICE])
        rig.dialer.on_call_event(CallOffered("in-1", ALICE, "support", "0901234567", "Jane", time.time()))
        assert rig.dialer.seat_of([ALICE]) == (ALICE, campaign_id, SeatState.INBOUND)
        assert await rig.dialer.tick() == 0
        # Bob answered it: Alice's phone stops ringing and she is the campaign's again.
        rig.dialer.on_call_event(OfferRetracted("in-1", ALICE, RetractReason.ANSWERED_ELSEWHERE))
        assert rig.dialer.seat_of([ALICE]) == (ALICE, campaign_id, SeatState.FREE)
        assert await rig.dialer.tick() == 1


@pytest.mark.parametrize(
    ("rig", "ended_by_dialer"),
    [
        # The waiting customer rings out (hangs up) after 2 s: the 0.3 s grace ends first.
        ({"agent_interfaces": ("Local/1009@agents",), "talk_s": 30.0, "ring_s": 2.0}, True),
        # The customer hangs up after 0.1 s, inside the grace: still a drop, nothing to hang up.
        ({"agent_interfaces": ("Local/1009@agents",), "talk_s": 30.0, "ring_s": 0.1}, False),
    ],
    indirect=["rig"],
)
async def test_a_call_the_pbx_cannot_give_to_an_agent_is_dropped_and_its_number_rested(
    rig: Rig, ended_by_dialer: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cti.dialer")
    async with asyncio.timeout(20):
        campaign_id = await rig.campaign(DialMethod.PREDICTIVE, leads(1))
        # The dialer believes Alice is free, but the PBX's only agent (1009) is on a long inbound
        # call: the answered dial finds nobody and must be dropped after the 0.3 s grace.
        connected = asyncio.Event()
        rig.simulator.on_frame_sent(
            lambda name, _frame, _t: connected.set() if name == "AgentConnect" else None
        )
        await rig.simulator.place_call(number="0901999999", name="Busy Line", scenario="answered")
        await connected.wait()
        rig.dialer.join(campaign_id, [ALICE])
        assert await rig.dialer.tick() == 1

        async def dropped() -> bool:
            rows = await rig.attempts()
            return bool(rows) and rows[0]["dropped"]

        await eventually(dropped, timeout_s=10)
        status = await rig.dialer.status(campaign_id)
        assert (status.counts.answered_24h, status.counts.dropped_24h) == (1, 1)
        assert status.pacing.dropped_24h == 1
        until = await rig.pool.fetchval("SELECT until - now() FROM do_not_call WHERE phone = '+84900000000'")
        assert until.total_seconds() > 71 * 3600
        assert rig.pops.received == []
        if ended_by_dialer:
            await eventually(lambda: "ended by hangup" in caplog.text, timeout_s=5)
        else:
            assert "ended by hangup" not in caplog.text


async def test_no_sales_call_to_a_customer_with_an_open_escalated_ticket(rig: Rig) -> None:
    async with asyncio.timeout(20):
        rig.escalations.escalated.add(42)
        campaign_id = await rig.campaign(DialMethod.PROGRESSIVE, leads(1, customer_id=42))
        rig.dialer.join(campaign_id, [ALICE])
        assert await rig.dialer.tick() == 0
        assert await rig.attempts() == []
        row = await rig.pool.fetchrow("SELECT status, next_attempt_at > now() AS later FROM leads")
        assert (row["status"], row["later"]) == ("new", True)


@pytest.mark.parametrize("rig", [{"originate_answer_share": 0.0, "originate_busy_share": 1.0}], indirect=True)
async def test_two_dialer_nodes_on_one_database_never_dial_one_lead_twice(rig: Rig) -> None:
    async with asyncio.timeout(30):
        campaign_id = await rig.campaign(DialMethod.PROGRESSIVE, leads(12))
        simulator_port = rig.simulator.port
        other_client = AmiClient(
            AmiSettings(host="127.0.0.1", port=simulator_port, username="hotline", secret="sim"),
            on_event=lambda message: other.on_ami_event(message),
        )
        other = Dialer(
            rig.store,
            other_client,
            NoCustomers(),
            rig.escalations,
            rig.pops,
            settings=DialerSettings(node="other-node", drop_grace_s=0.3, reload_s=0.0),
        )
        runner = asyncio.get_running_loop().create_task(other_client.run())
        try:
            await eventually(lambda: other_client.connected, timeout_s=10)
            rig.dialer.join(campaign_id, [ALICE, BOB])
            other.join(campaign_id, ["Local/1003@agents", "Local/1004@agents"])

            async def all_dialled() -> bool:
                await asyncio.gather(rig.dialer.tick(), other.tick())
                return await rig.pool.fetchval("SELECT count(*) FROM leads WHERE attempts = 0") == 0

            await eventually(all_dialled, timeout_s=20)
        finally:
            await other.close()
            await other_client.close()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        rows = await rig.pool.fetch("SELECT lead_id, node FROM dial_attempts")
        assert len(rows) == 12
        assert len({r["lead_id"] for r in rows}) == 12  # every lead once
        assert {r["node"] for r in rows} == {"test-node", "other-node"}  # both nodes dialled
