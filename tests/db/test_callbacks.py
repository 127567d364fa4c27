"""Promised callbacks on a real PostgreSQL: due times, agent away -> team, exactly-once popping, leases."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from cti.ami_client import ActionFields
from cti.ami_protocol import AmiMessage, MessageKind
from cti.callback_service import CallbackService, CallbackSettings
from cti.callback_store import CallbackStore
from cti.callbacks import Callback, CallbackStatus, TeamMember
from cti.click_to_dial import ClickToDial, ClickToDialSettings
from cti.errors import AmiNotConnectedError, CallbackNotFoundError
from tests.db.test_ticket_service import Clock

pytestmark = pytest.mark.db
TIMEOUT_S = 20
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@dataclass
class Desk:
    """The desktops: who is signed in, and which callbacks popped for whom."""

    signed_in: set[int] = field(default_factory=set)
    offers: list[tuple[tuple[int, ...], int]] = field(default_factory=list)

    def online(self, agent_id: int) -> bool:
        return agent_id in self.signed_in

    def offer(self, agent_ids: Sequence[int], callback: Callback) -> None:
        self.offers.append((tuple(agent_ids), callback.id))


@dataclass(frozen=True)
class DeskAgent:
    id: int
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class Handler:
    agent_id: int
    department: str


@dataclass
class Roster:
    """The agents' accounts and the tickets' departments, as one team."""

    team: list[TeamMember] = field(default_factory=list)

    async def desk_agents(self) -> Sequence[DeskAgent]:
        await asyncio.sleep(0)  # let a concurrent worker interleave here
        return [DeskAgent(m.agent_id, m.interfaces) for m in self.team]

    async def handlers(self) -> Sequence[Handler]:
        return [Handler(m.agent_id, m.department) for m in self.team if m.department is not None]


@dataclass(frozen=True)
class Named:
    name: str


@dataclass
class Names:
    known: dict[int, str] = field(default_factory=dict)

    async def find(self, customer_id: int) -> Named | None:
        name = self.known.get(customer_id)
        return None if name is None else Named(name)


@dataclass
class Pbx:
    connected: bool = True
    sent: list[tuple[str, ActionFields]] = field(default_factory=list)

    async def action(
        self, name: str, fields: ActionFields = (), timeout_s: float | None = None
    ) -> AmiMessage:
        if not self.connected:
            raise AmiNotConnectedError(f"cannot send AMI action {name}: not connected")
        self.sent.append((name, fields))
        return AmiMessage(MessageKind.RESPONSE, "Success", [("Message", "Originate successfully queued")])


@dataclass
class World:
    pool: asyncpg.Pool
    clock: Clock
    desk: Desk
    roster: Roster
    pbx: Pbx
    anna: int
    ben: int
    chi: int
    ann_customer: int
    paused: set[str] = field(default_factory=set)

    def service(self, lease_s: float = 60.0) -> CallbackService:
        return CallbackService(
            CallbackStore(self.pool),
            self.roster,
            self.roster,
            self.desk,
            Names({self.ann_customer: "Ann Trần"}),
            ClickToDial(self.pbx, ClickToDialSettings(), channel_ids=lambda: "ctd-1"),
            lambda interface: interface not in self.paused,
            self.clock,
            CallbackSettings(lease_s=lease_s),
        )


async def _agent(pool: asyncpg.Pool, username: str) -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO agents (username, display_name, password_hash, role) VALUES ($1, $1, 'x', 'agent')"
            " RETURNING id",
            username,
        )
    )


@pytest.fixture
async def world(pool: asyncpg.Pool) -> World:
    anna, ben, chi = await _agent(pool, "anna"), await _agent(pool, "ben"), await _agent(pool, "chi")
    ann = int(await pool.fetchval("INSERT INTO customers (name) VALUES ('Ann Trần') RETURNING id"))
    roster = Roster(
        [
            TeamMember(anna, ("PJSIP/1001",), "billing"),
            TeamMember(ben, ("PJSIP/1002",), "billing"),
            TeamMember(chi, ("PJSIP/1003",), "technical"),
        ]
    )
    return World(pool, Clock(NOW), Desk({anna, ben, chi}), roster, Pbx(), anna, ben, chi, ann)


async def test_a_callback_pops_for_its_agent_at_its_time_not_before(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        callback = await service.request_callback(
            world.ann_customer,
            "0901 234 567",
            NOW + timedelta(minutes=30),
            "Price list",
            "agent",
            agent_id=world.anna,
        )
        assert (callback.customer_name, callback.phone, callback.status) == (
            "Ann Trần",
            "0901234567",
            CallbackStatus.SCHEDULED,
        )
        world.clock.now = NOW + timedelta(minutes=29, seconds=59)
        assert await service.run_once() == 0
        world.clock.now = NOW + timedelta(minutes=30)
        assert await service.run_once() == 1
        assert world.desk.offers == [((world.anna,), callback.id)]
        assert await service.run_once() == 0
        [mine] = await service.open_for(world.anna)
        assert (mine.status, mine.offered_to, mine.to_team) == (CallbackStatus.OFFERED, (world.anna,), False)


@pytest.mark.parametrize("away", ["signed out", "paused"])
async def test_an_away_agents_callback_goes_to_their_department(world: World, away: str) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        if away == "signed out":
            world.desk.signed_in.discard(world.anna)
        else:
            world.paused.add("PJSIP/1001")
        service = world.service()
        callback = await service.request_callback(None, "0901234567", NOW, "", "agent", agent_id=world.anna)
        assert await service.run_once() == 1
        assert world.desk.offers == [((world.ben,), callback.id)]
        [bens] = await service.open_for(world.ben)
        assert (bens.id, bens.to_team) == (callback.id, True)
        assert await service.open_for(world.chi) == []


async def test_a_callback_requested_without_an_agent_goes_to_every_ready_agent(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        world.desk.signed_in.discard(world.ben)
        service = world.service()
        callback = await service.request_callback(None, "+84901234567", None, "Pressed 2 in the IVR", "ivr")
        assert await service.run_once() == 1
        assert world.desk.offers == [((world.anna, world.chi), callback.id)]


async def test_two_nodes_pop_each_due_callback_exactly_once(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        for i in range(60):
            await service.request_callback(None, f"09012345{i:02d}", NOW - timedelta(seconds=i), "", "api")
        nodes = [world.service() for _ in range(3)]
        counts = await asyncio.gather(*(n.run_once() for n in nodes))
        assert sum(counts) == 60
        popped = [callback_id for _, callback_id in world.desk.offers]
        assert len(popped) == len(set(popped)) == 60


async def test_a_crashed_nodes_claim_is_taken_over_when_its_lease_runs_out(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service(lease_s=60)
        callback = await service.request_callback(None, "0901234567", NOW, "", "api", agent_id=world.anna)
        # The crashed node claimed it and died before popping it.
        [claimed] = await CallbackStore(world.pool).claim_due(NOW, 60, 10)
        assert claimed.id == callback.id
        assert await service.run_once() == 0
        world.clock.now = NOW + timedelta(seconds=61)
        assert await service.run_once() == 1
        assert world.desk.offers == [((world.anna,), callback.id)]


async def test_dialling_a_callback_originates_from_the_agents_phone_and_closes_it(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        callback = await service.request_callback(
            world.ann_customer, "0901234567", NOW, "", "agent", agent_id=world.anna
        )
        done, channel_id = await service.dial(callback.id, world.anna, "PJSIP/1001")
        assert channel_id == "ctd-1"
        assert (done.status, done.done_by) == (CallbackStatus.DONE, world.anna)
        [(name, fields)] = world.pbx.sent
        assert name == "Originate"
        assert ("Channel", "Local/0901234567@customers") in fields
        assert ("Variable", "HOTLINE_AGENT=PJSIP/1001") in fields
        # Done means gone from every list, and it cannot be dialled twice.
        assert await service.open_for(world.anna) == []
        with pytest.raises(CallbackNotFoundError):
            await service.dial(callback.id, world.anna, "PJSIP/1001")
        assert len(world.pbx.sent) == 1


async def test_two_agents_dialling_one_team_callback_at_once_place_one_call(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        callback = await service.request_callback(None, "0901234567", NOW, "", "ivr")
        assert await service.run_once() == 1
        results = await asyncio.gather(
            service.dial(callback.id, world.anna, "PJSIP/1001"),
            service.dial(callback.id, world.ben, "PJSIP/1002"),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["CallbackNotFoundError", "tuple"]
        assert len(world.pbx.sent) == 1


async def test_a_dial_the_pbx_refuses_leaves_the_callback_open(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        callback = await service.request_callback(None, "0901234567", NOW, "", "ivr")
        assert await service.run_once() == 1
        world.pbx.connected = False
        with pytest.raises(AmiNotConnectedError):
            await service.dial(callback.id, world.anna, "PJSIP/1001")
        [still_open] = await service.open_for(world.anna)
        assert (still_open.id, still_open.status, still_open.done_by) == (
            callback.id,
            CallbackStatus.OFFERED,
            None,
        )


async def test_a_cancelled_callback_never_pops(world: World) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        service = world.service()
        callback = await service.request_callback(None, "0901234567", NOW + timedelta(hours=1), "", "api")
        cancelled = await service.finish(callback.id, world.anna, cancelled=True)
        assert cancelled.status is CallbackStatus.CANCELLED
        world.clock.now = NOW + timedelta(hours=2)
        assert await service.run_once() == 0
        assert world.desk.offers == []
