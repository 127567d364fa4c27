"""The agent-state service's rules: wrap-up after a call, and the staffing advisor on a pause request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from cti.agent_service import AgentStateService, AgentStateSettings
from cti.agent_states import Presence
from cti.ami_protocol import AmiMessage, AmiParser, MessageKind
from cti.kpi import KpiSettings
from tests.conftest import eventually
from tests.protocol.test_agent_service import Sink
from tests.recordings import server_stream

AGENT_1001 = "Local/1001@agents"


class Actions:
    """Records the AMI actions the service sends; answers each with an empty success."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def action(
        self,
        name: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        timeout_s: float | None = None,
    ) -> AmiMessage:
        self.sent.append((name, dict(fields.items() if isinstance(fields, Mapping) else fields)))
        return AmiMessage(MessageKind.RESPONSE, "Success", [])


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def recorded_events(name: str) -> list[AmiMessage]:
    return [m for m in AmiParser().feed(server_stream(name)) if m.kind is MessageKind.EVENT]


async def test_after_a_call_the_agent_is_paused_for_wrap_up_in_each_queue() -> None:
    sink, actions = Sink(), Actions()
    settings = AgentStateSettings(kpi=KpiSettings(wrap_up_s=30), publish_delay_s=0.01)
    service = AgentStateService(settings, sink, sink, clock=Clock(1_800_000_000.0))
    service.attach(actions)
    async with asyncio.timeout(5):
        for message in recorded_events("ami_b_inbound_answered.txt"):
            service.on_ami_event(message)
        await eventually(lambda: len(actions.sent) == 2)  # a task started by AgentComplete
        assert actions.sent == [
            (
                "QueuePause",
                {
                    "Queue": q,
                    "Interface": "Local/1001@agents/n",
                    "Paused": "true",
                    "Reason": "After-call work",
                },
            )
            for q in ("support", "vip")
        ]
        await service.close()


async def test_a_pause_that_would_miss_the_service_level_warns_the_supervisor_and_the_agent() -> None:
    sink, actions = Sink(), Actions()
    # 99 % within 20 s: two agents meet it at this traffic, one does not.
    settings = AgentStateSettings(kpi=KpiSettings(service_level_target=0.99))
    clock = Clock(1_800_000_000.0)
    service = AgentStateService(settings, sink, sink, clock=clock)
    service.attach(actions)
    concurrent = recorded_events("ami_j_concurrent.txt")
    for _ in range(30):  # 90 calls in the last 15 minutes: 360 an hour
        for message in concurrent:
            clock.now += 0.05
            service.on_ami_event(message)
    statuses = {s.interface: s.presence for s in service.statuses()}
    assert statuses[AGENT_1001] is Presence.READY
    assert statuses["Local/1002@agents"] is Presence.READY

    warnings = await service.pause(AGENT_1001, "Break")
    assert [(w.queue, w.interface, w.reason) for w in warnings] == [("support", AGENT_1001, "Break")]
    [warning] = warnings
    assert warning.projected_now.agents == 2
    assert not warning.projected_now.below_target
    assert warning.projected_after.agents == 1
    assert warning.projected_after.below_target
    assert sink.warnings == warnings
    assert [name for name, _ in actions.sent] == ["QueuePause", "QueuePause"]  # support and vip

    relaxed = AgentStateService(AgentStateSettings(), sink, sink, clock=clock)
    relaxed.attach(actions)
    for message in concurrent:
        relaxed.on_ami_event(message)
    assert await relaxed.pause(AGENT_1001, "Break") == []
    await service.close()
    await relaxed.close()


async def test_an_agent_takes_calls_only_while_ready_as_asterisk_reports_them() -> None:
    sink = Sink()
    service = AgentStateService(AgentStateSettings(), sink, sink, clock=Clock(1_800_000_000.0))
    # Before Asterisk mentioned the interface the dialer's own seat state decides.
    assert service.takes_calls(AGENT_1001)
    seen: list[bool] = []
    for message in recorded_events("ami_b_inbound_answered.txt"):
        service.on_ami_event(message)
        status = service.status(AGENT_1001)
        if status is not None:
            assert service.takes_calls(AGENT_1001) is (status.presence is Presence.READY)
            seen.append(service.takes_calls(AGENT_1001))
    assert False in seen  # on the call it was not free for another one
    assert seen[-1] is True  # and after it, ready again
    await service.close()
