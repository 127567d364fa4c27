"""Agent-state actions on a fake Asterisk replaying the queue-member recording (ami_f)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from cti.agent_service import AgentStateService, AgentStateSettings, StaffingWarning
from cti.agent_states import AgentStatus, Presence, StatePeriod
from cti.ami_client import AmiClient
from cti.ami_protocol import AmiParser, MessageKind
from cti.errors import (
    AmiActionError,
    AmiInjectionError,
    AmiNotConnectedError,
    NotInQueueError,
    UnknownPauseReasonError,
)
from cti.events import CallEvent
from cti.kpi import QueueFigures
from cti.pipeline import CallPipeline
from hotline.bus import EventBus
from tests.conftest import eventually
from tests.protocol.fake_ami import FakeAmi
from tests.protocol.test_ami_client import running, settings_for
from tests.recordings import server_stream

ADMIN = ("ami_f_queue_member_admin.txt", 1)
RESTARTED = ("ami_k_restart.txt", 2)
AGENT = "Local/1002@agents"


@dataclass
class Sink:
    """What the service pushed towards the browsers, and what it stored."""

    states: list[AgentStatus] = field(default_factory=list)
    figures: list[Sequence[QueueFigures]] = field(default_factory=list)
    warnings: list[StaffingWarning] = field(default_factory=list)
    periods: list[StatePeriod] = field(default_factory=list)
    watching: bool = True  # a supervisor's stream is open
    asked_watching: int = 0  # how often the service was about to push figures

    def agent_state(self, status: AgentStatus) -> None:
        self.states.append(status)

    def watching_figures(self) -> bool:
        self.asked_watching += 1
        return self.watching

    def queue_figures(self, figures: Sequence[QueueFigures], at: float) -> None:
        self.figures.append(figures)

    def staffing_warning(self, warning: StaffingWarning) -> None:
        self.warnings.append(warning)

    async def record_periods(self, periods: Sequence[StatePeriod]) -> None:
        self.periods.extend(periods)

    def last_figure(self, queue: str, name: str) -> object:
        """A figure of `queue` in the latest push, or None before one arrived."""
        latest = {f.queue: f for f in self.figures[-1]} if self.figures else {}
        return getattr(latest[queue], name) if queue in latest else None


@asynccontextmanager
async def service_on_fake(
    *sources: tuple[str, int],
) -> AsyncIterator[tuple[FakeAmi, AgentStateService, Sink]]:
    sink = Sink()
    service = AgentStateService(AgentStateSettings(publish_delay_s=0.01, tick_s=60), sink, sink)
    async with FakeAmi(*sources, repeats_in_order=True) as fake:
        client = AmiClient(settings_for(fake), on_event=service.on_ami_event)
        service.attach(client)
        async with running(client), asyncio.TaskGroup() as group:
            background = group.create_task(service.run())
            await eventually(lambda: client.connected)
            yield fake, service, sink
            background.cancel()
        await service.close()


def presence(service: AgentStateService) -> tuple[Presence, str] | None:
    status = service.status(AGENT)
    return None if status is None else (status.presence, status.reason)


async def test_queue_figures_are_worked_out_only_while_a_supervisor_watches() -> None:
    async with asyncio.timeout(10), service_on_fake(ADMIN) as (_fake, service, sink):
        sink.watching = False
        await service.log_in(AGENT, "noanswer", member_name="Agent 1002", penalty=1)
        await eventually(lambda: presence(service) == (Presence.READY, ""))
        # The figures were due (the service asked whether anyone watches) and not pushed.
        await eventually(lambda: sink.asked_watching > 0)
        assert sink.figures == []
        # Asked for (a supervisor's snapshot, the wallboard API), they are there, and current.
        figures, _ = service.figures()
        assert {f.queue: f.ready for f in figures}["noanswer"] == 1
        sink.watching = True
        await service.pause(AGENT, "Lunch")
        await eventually(lambda: sink.last_figure("noanswer", "paused") == 1)


async def test_log_in_pause_unpause_and_log_out_go_through_asterisk() -> None:
    async with asyncio.timeout(10), service_on_fake(ADMIN) as (fake, service, sink):
        await service.log_in(AGENT, "noanswer", member_name="Agent 1002", penalty=1)
        await eventually(lambda: presence(service) == (Presence.READY, ""))
        # The wallboard hears of it without being asked: the figures follow the AMI event.
        await eventually(lambda: sink.last_figure("noanswer", "ready") == 1)

        await service.pause(AGENT, "Lunch")
        await eventually(lambda: presence(service) == (Presence.PAUSED, "Lunch"))
        await service.unpause(AGENT)
        await eventually(lambda: presence(service) == (Presence.READY, ""))
        status = service.status(AGENT)
        assert status is not None
        assert [m.queue for m in status.queues] == ["noanswer", "support", "vip"]

        await service.log_out(AGENT, "noanswer")
        await eventually(lambda: [m.queue for m in service.status(AGENT).queues] == ["support", "vip"])  # type: ignore[union-attr]
        with pytest.raises(AmiActionError, match="Unable to remove interface"):
            await service.log_out(AGENT, "noanswer")

        # What went on the wire is exactly what the recorder sent to the real Asterisk.
        assert fake.unmatched == []
        sent = [(a.name, a.get("Queue"), a.get("Paused"), a.get("Reason")) for a in fake.actions[1:]]
        assert sent == [
            ("QueueAdd", "noanswer", "false", None),
            ("QueuePause", "noanswer", "true", "Lunch"),
            ("QueuePause", None, "false", None),
            ("QueueRemove", "noanswer", None, None),
            ("QueueRemove", "noanswer", None, None),
        ]
        assert [(s.presence, s.reason) for s in sink.states] == [
            (Presence.READY, ""),
            (Presence.PAUSED, "Lunch"),
            (Presence.READY, ""),
        ]
        # The empty "logged out" stretch before Asterisk first mentioned the agent is not stored.
        await eventually(lambda: len(sink.periods) == 2)
        assert [(p.presence, p.reason) for p in sink.periods] == [
            (Presence.READY, ""),
            (Presence.PAUSED, "Lunch"),
        ]


async def test_requests_that_cannot_be_carried_out_send_nothing() -> None:
    async with asyncio.timeout(10), service_on_fake(ADMIN) as (fake, service, _):
        with pytest.raises(NotInQueueError):
            await service.pause(AGENT, "Lunch")
        with pytest.raises(NotInQueueError):
            await service.unpause(AGENT)
        await service.log_in(AGENT, "noanswer", member_name="Agent 1002", penalty=1)
        await eventually(lambda: presence(service) == (Presence.READY, ""))
        with pytest.raises(UnknownPauseReasonError):
            await service.pause(AGENT, "Coffee")
        with pytest.raises(AmiInjectionError):
            await service.log_in(AGENT, "noanswer\r\nAction: Originate", member_name="Agent 1002")
        with pytest.raises(AmiInjectionError):
            await service.log_in(AGENT, "support", member_name="Eve\nAction: Hangup")
        assert [a.name for a in fake.actions[1:]] == ["QueueAdd"]


@dataclass
class Calls:
    """The pop's place in the pipeline (this story has no calls)."""

    events: list[CallEvent] = field(default_factory=list)

    def handle(self, event: CallEvent) -> None:
        self.events.append(event)


async def test_after_the_pbx_restarts_the_resync_clears_a_pause_asterisk_forgot() -> None:
    sink = Sink()
    service = AgentStateService(AgentStateSettings(publish_delay_s=0.01, tick_s=60), sink, sink)
    pipeline = CallPipeline(Calls(), EventBus(), agent_states=service)
    # The queue-member session first; after the reconnect, the login and lists of the restarted PBX.
    async with asyncio.timeout(10), FakeAmi(ADMIN, RESTARTED, repeats_in_order=True) as fake:
        logins = 0

        async def on_connected() -> None:
            # The story starts with Hotline already up: its first login's resync is not part of it.
            nonlocal logins
            logins += 1
            if logins > 1:
                await pipeline.resync()

        client = AmiClient(settings_for(fake), on_event=pipeline.on_ami_event, on_connected=on_connected)
        pipeline.attach(client)
        service.attach(client)
        async with running(client):
            await eventually(lambda: client.connected)
            await service.log_in(AGENT, "noanswer", member_name="Agent 1002", penalty=1)
            await service.pause(AGENT, "Lunch")
            await eventually(lambda: presence(service) == (Presence.PAUSED, "Lunch"))

            fake.cut_next("QueuePause", after_messages=0)  # the PBX goes down under the next request
            with pytest.raises(AmiNotConnectedError):
                await service.unpause(AGENT)
            await eventually(lambda: fake.connections == 2 and client.connected)
            await eventually(lambda: presence(service) == (Presence.READY, ""))
            status = service.status(AGENT)
            assert status is not None
            assert [m.queue for m in status.queues] == ["support", "vip"]  # the dynamic membership is gone
            assert [a.name for a in fake.actions if a.connection == 2] == [
                "Login",
                "CoreShowChannels",
                "QueueStatus",
            ]
        await service.close()


@dataclass
class FlakyRecorder:
    """A store that is down for its first `failures` writes (the database went away)."""

    failures: int
    periods: list[StatePeriod] = field(default_factory=list)
    attempts: int = 0

    async def record_periods(self, periods: Sequence[StatePeriod]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OSError("connection refused")
        self.periods.extend(periods)


async def stored_periods(recorder: FlakyRecorder) -> list[StatePeriod]:
    """Play a recorded answered call through a service writing to `recorder`; what it stored."""
    settings = AgentStateSettings(publish_delay_s=0.01, tick_s=60, store_retry_s=0.01)
    ticks = itertools.count(1_800_000_000)  # one second per reading: periods have a length
    service = AgentStateService(settings, Sink(), recorder, clock=lambda: float(next(ticks)))
    async with asyncio.TaskGroup() as group:
        background = group.create_task(service.run())
        for message in AmiParser().feed(server_stream("ami_b_inbound_answered.txt")):
            if message.kind is MessageKind.EVENT:
                service.on_ami_event(message)
        await eventually(lambda: recorder.attempts > recorder.failures)
        background.cancel()
    await service.close()
    return recorder.periods


async def test_state_periods_that_fail_to_store_are_kept_and_stored_once_the_database_is_back() -> None:
    async with asyncio.timeout(10):
        expected = await stored_periods(FlakyRecorder(failures=0))
        flaky = FlakyRecorder(failures=2)
        assert await stored_periods(flaky) == expected
    assert expected
    assert flaky.attempts == 3  # two refused writes of the same batch, then the one that worked


async def test_state_periods_closing_close_together_are_stored_in_one_write() -> None:
    settings = AgentStateSettings(publish_delay_s=0.01, tick_s=60, store_batch_s=0.2)
    ticks = itertools.count(1_800_000_000)
    recorder = FlakyRecorder(failures=0)
    service = AgentStateService(settings, Sink(), recorder, clock=lambda: float(next(ticks)))
    async with asyncio.timeout(10), asyncio.TaskGroup() as group:
        background = group.create_task(service.run())
        for message in AmiParser().feed(server_stream("ami_f_queue_member_admin.txt")):
            if message.kind is MessageKind.EVENT:
                service.on_ami_event(message)
                await asyncio.sleep(0)  # the writer gets its turn between the events
        await eventually(lambda: recorder.attempts > 0)
        background.cancel()
    await service.close()
    assert len(recorder.periods) > 1
    assert recorder.attempts == 1
