"""The AMI event pipeline on recorded Asterisk traffic: the pop first, then the bus; each reader handed only
the events it reads; a refused login said once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from cti.agent_service import AgentStateService
from cti.agent_states import AgentStateTracker
from cti.ami_client import AmiClient
from cti.ami_protocol import AmiMessage, AmiParser, MessageKind
from cti.events import CallAnswered, CallEnded, CallEvent, CallOffered
from cti.kpi import KpiSettings, QueueBoard
from cti.pipeline import CallPipeline, run_ami
from tests.protocol.fake_ami import FakeAmi
from tests.protocol.test_ami_client import FAILED_LOGIN, LOGIN, settings_for
from tests.recordings import ami_files, server_messages


@dataclass
class Log:
    seen: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class Pops:
    log: Log

    def handle(self, event: CallEvent) -> None:
        self.log.seen.append(("pop", event))


@dataclass
class Bus:
    log: Log

    def publish(self, event: object) -> None:
        self.log.seen.append(("bus", event))


def recorded_events(name: str) -> list[AmiMessage]:
    parser = AmiParser()
    messages = [m for data in server_messages(name) for m in parser.feed(data)]
    return [m for m in messages if m.kind is MessageKind.EVENT]


def test_each_call_event_reaches_the_pop_first_then_the_bus() -> None:
    log = Log()
    raw: list[AmiMessage] = []
    pipeline = CallPipeline(Pops(log), Bus(log), clock=lambda: 1_800_000_000.0)
    pipeline.add_listener(raw.append, {"Newchannel", "Hangup"})
    messages = recorded_events("ami_b_inbound_answered.txt")
    for message in messages:
        pipeline.on_ami_event(message)
    # A listener is handed the events it asked for, and no other.
    assert raw == [m for m in messages if m.name in {"Newchannel", "Hangup"}]
    assert raw
    popped = [event for who, event in log.seen if who == "pop"]
    # Every event twice in a row: to the pop (cti's own reaction), then on the bus (everyone else's).
    assert log.seen == [(who, event) for event in popped for who in ("pop", "bus")]
    kinds = {type(event) for event in popped}
    assert {CallOffered, CallAnswered, CallEnded} <= kinds


@pytest.mark.parametrize("name", ami_files())
def test_the_agent_states_and_queue_figures_miss_nothing_when_handed_only_the_events_they_read(
    name: str,
) -> None:
    # Fed everything, or only AgentStateService.EVENT_NAMES as the pipeline does: the same states and figures.
    every_tracker, routed_tracker = AgentStateTracker(), AgentStateTracker()
    every_board, routed_board = (QueueBoard(KpiSettings(), lambda now: 0.0) for _ in range(2))
    now = 1_800_000_000.0
    for message in recorded_events(name):
        now += 1.0
        changes = every_tracker.feed(message, now)
        changed = every_board.feed(message, now)
        if message.name in AgentStateService.EVENT_NAMES:
            assert routed_tracker.feed(message, now) == changes
            assert routed_board.feed(message, now) == changed
        else:
            assert changes == []
            assert not changed
    assert routed_tracker.statuses() == every_tracker.statuses()
    assert routed_board.figures(routed_tracker.statuses(), now) == every_board.figures(
        every_tracker.statuses(), now
    )


async def test_a_refused_login_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    async with asyncio.timeout(10), FakeAmi(FAILED_LOGIN, LOGIN) as fake:
        client = AmiClient(settings_for(fake, secret="wrong-secret"), on_event=lambda message: None)
        with caplog.at_level(logging.INFO):
            await run_ami(client)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].name == "cti.pipeline"
    assert "AMI login as 'cti' refused" in errors[0].getMessage()
    assert "HOTLINE_AMI_URL" in errors[0].getMessage()
    assert "wrong-secret" not in caplog.text
    await client.close()
