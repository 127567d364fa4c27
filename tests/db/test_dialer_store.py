"""The dialer's store on a real PostgreSQL: reservation, windows, do-not-call, outcomes, two nodes racing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import asyncpg
import pytest

from cti.campaigns import CampaignSpec, CampaignState, DialMethod, DialOutcome, RetryPolicy
from cti.dialer_store import DialerStore, NewLead
from cti.errors import CampaignNotFoundError, InvalidCampaignError
from tests.conftest import _create_migrated_database

pytestmark = pytest.mark.db
# 03:00 UTC is 10:00 in Ho Chi Minh City and 22:00 (the day before) in New York.
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
HCM = "Asia/Ho_Chi_Minh"


def spec(name: str = "Winter offers", **changes: object) -> CampaignSpec:
    fields: dict[str, object] = {
        "name": name,
        "queue": "sales",
        "dial_method": DialMethod.PREDICTIVE,
        "caller_id": '"Hotline Shop" <0281234567>',
        "script": "Hello, this is Hotline Shop.",
        "window_start": time(8, 0),
        "window_end": time(21, 0),
        "retry": RetryPolicy(max_attempts=2, busy_s=600, no_answer_s=3600),
    }
    fields.update(changes)
    return CampaignSpec(**fields)  # type: ignore[arg-type]


def leads(count: int, timezone: str = HCM, start: int = 0) -> list[NewLead]:
    return [NewLead(f"+8490{start + i:07d}", f"Lead {start + i}", timezone) for i in range(count)]


async def test_campaign_round_trip_and_errors(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    created = await store.create_campaign(spec())
    assert created.state is CampaignState.PAUSED
    assert await store.campaign(created.id) == created
    assert (await store.set_state(created.id, CampaignState.RUNNING)).state is CampaignState.RUNNING
    with pytest.raises(InvalidCampaignError):
        await store.create_campaign(spec())
    with pytest.raises(CampaignNotFoundError):
        await store.campaign(created.id + 1000)


async def test_reservation_respects_each_leads_time_zone_and_do_not_call(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    campaign = await store.create_campaign(spec())
    await store.add_leads(
        campaign.id,
        [
            NewLead("+84901000001", "Saigon morning", HCM),
            NewLead("+12125550001", "New York night", "America/New_York"),
            NewLead("+84901000002", "On the global list", HCM),
            NewLead("+84901000003", "On the campaign list", HCM),
        ],
    )
    await store.add_do_not_call(["+84901000002"], None, "regulator list")
    await store.add_do_not_call(["+84901000003"], campaign.id, "asked")
    reserved = await store.reserve_leads(campaign.id, 10, node="a", now=NOW, lease_s=60)
    assert [lead.name for lead in reserved] == ["Saigon morning"]
    # Twelve hours later it is morning in New York and night in Saigon.
    later = await store.reserve_leads(campaign.id, 10, node="a", now=NOW + timedelta(hours=12), lease_s=60)
    assert [lead.name for lead in later] == ["New York night"]


async def test_outcomes_schedule_retries_and_finish_leads(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    campaign = await store.create_campaign(spec())
    await store.add_leads(campaign.id, leads(1))
    [lead] = await store.reserve_leads(campaign.id, 1, node="a", now=NOW, lease_s=60)
    await store.record_dial("c-1", lead, node="a", agent_interface=None, now=NOW)
    busy = await store.record_outcome("c-1", DialOutcome.BUSY, campaign.spec.retry, NOW)
    assert busy is not None
    assert (busy.status, busy.attempts) == ("retry", 1)
    assert (
        await store.reserve_leads(campaign.id, 1, node="a", now=NOW + timedelta(seconds=599), lease_s=60)
        == []
    )
    [again] = await store.reserve_leads(
        campaign.id, 1, node="a", now=NOW + timedelta(seconds=600), lease_s=60
    )
    await store.record_dial("c-2", again, node="a", agent_interface=None, now=NOW)
    last = await store.record_outcome("c-2", DialOutcome.NO_ANSWER, campaign.spec.retry, NOW)
    assert last is not None
    assert (last.status, last.attempts) == ("done", 2)  # max_attempts 2
    assert await store.record_outcome("c-2", DialOutcome.BUSY, campaign.spec.retry, NOW) is None  # once


async def test_a_dropped_call_rests_its_number_for_72_hours_in_every_campaign(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    first = await store.create_campaign(spec("First"))
    second = await store.create_campaign(spec("Second"))
    for campaign in (first, second):
        await store.add_leads(campaign.id, leads(1))
    [lead] = await store.reserve_leads(first.id, 1, node="a", now=NOW, lease_s=60)
    await store.record_dial("c-1", lead, node="a", agent_interface=None, now=NOW)
    await store.record_outcome("c-1", DialOutcome.ANSWERED, first.spec.retry, NOW)
    await store.record_drop("c-1", NOW)
    counts = await store.counts(first.id, NOW)
    assert (counts.answered_24h, counts.dropped_24h, counts.dropped_30d) == (1, 1, 1)
    almost = NOW + timedelta(hours=71)  # still inside both windows in Saigon: 10:00 + 71 h = 09:00
    assert await store.reserve_leads(second.id, 1, node="a", now=almost, lease_s=60) == []
    assert (
        len(await store.reserve_leads(second.id, 1, node="a", now=NOW + timedelta(hours=72), lease_s=60)) == 1
    )


async def test_a_do_not_call_disposition_puts_the_number_on_the_campaign_list(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    campaign = await store.create_campaign(spec())
    await store.add_leads(campaign.id, leads(1))
    [lead] = await store.reserve_leads(campaign.id, 1, node="a", now=NOW, lease_s=60)
    done = await store.set_disposition(lead.id, "do_not_call", "asked politely", None, NOW)
    assert (done.status, done.disposition) == ("dnc", "do_not_call")
    await store.add_leads(campaign.id, leads(1))  # re-importing the number does not make it diallable
    assert await store.reserve_leads(campaign.id, 1, node="a", now=NOW + timedelta(days=1), lease_s=60) == []


async def test_a_lease_that_runs_out_gives_the_lead_back(db: asyncpg.Connection) -> None:
    store = DialerStore(db)
    campaign = await store.create_campaign(spec())
    await store.add_leads(campaign.id, leads(1))
    assert len(await store.reserve_leads(campaign.id, 1, node="dead", now=NOW, lease_s=60)) == 1
    assert (
        await store.reserve_leads(campaign.id, 1, node="b", now=NOW + timedelta(seconds=59), lease_s=60) == []
    )
    assert (
        len(await store.reserve_leads(campaign.id, 1, node="b", now=NOW + timedelta(seconds=61), lease_s=60))
        == 1
    )


@pytest.fixture
async def shared_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of its own: the racing nodes must commit for real."""
    url = await _create_migrated_database()
    pool = await asyncpg.create_pool(url, min_size=4, max_size=8)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


async def test_two_dialer_nodes_never_reserve_one_lead_twice(shared_pool: asyncpg.Pool) -> None:
    setup = DialerStore(shared_pool)
    campaign = await setup.create_campaign(spec())
    await setup.add_leads(campaign.id, leads(300))
    taken: dict[str, list[int]] = {"node-a": [], "node-b": []}
    async with asyncio.timeout(30):
        # Node A's reservation is still uncommitted (its row locks held) when node B asks:
        # B must neither wait for A nor get A's leads.
        async with shared_pool.acquire() as conn_a, conn_a.transaction():
            first_a = await DialerStore(conn_a).reserve_leads(
                campaign.id, 7, node="node-a", now=NOW, lease_s=600
            )
            async with asyncio.timeout(5):
                first_b = await DialerStore(shared_pool).reserve_leads(
                    campaign.id, 7, node="node-b", now=NOW, lease_s=600
                )
        taken["node-a"] += [lead.id for lead in first_a]
        taken["node-b"] += [lead.id for lead in first_b]
        assert len(first_b) == 7
        assert not {lead.id for lead in first_a} & {lead.id for lead in first_b}

        async def dial_all(name: str) -> None:
            store = DialerStore(shared_pool)
            while batch := await store.reserve_leads(campaign.id, 7, node=name, now=NOW, lease_s=600):
                taken[name].extend(lead.id for lead in batch)

        await asyncio.gather(dial_all("node-a"), dial_all("node-b"))
    every = taken["node-a"] + taken["node-b"]
    assert len(every) == 300
    assert len(set(every)) == 300
    owners = await shared_pool.fetch("SELECT reserved_by, count(*) FROM leads GROUP BY reserved_by")
    assert {r["reserved_by"]: r["count"] for r in owners} == {name: len(ids) for name, ids in taken.items()}
