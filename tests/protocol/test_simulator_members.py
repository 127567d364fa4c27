"""The simulator's QueueAdd / QueuePause / QueueRemove answer as the recorded Asterisk 22 did (ami_f)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from cti.agent_states import AgentStateTracker, Presence
from cti.ami_protocol import AmiMessage, AmiParser
from cti.calls import normalise_interface
from tests.protocol.test_simulator import (
    TEST_TIMEOUT_S,
    Factory,
    RawAmi,
    is_last_hangup,
    open_client,
    start_simulator,
)
from tests.recordings import records, server_stream

__all__ = ["open_client", "start_simulator"]  # fixtures used below
ALICE, BOB = "Local/1001@agents/n", "Local/1002@agents/n"


def recorded(seq: int) -> AmiMessage:
    """The message Asterisk sent in record `seq` of ami_f."""
    parser = AmiParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    [message] = parser.feed(next(r.data for r in records("ami_f_queue_member_admin.txt") if r.seq == seq))
    return message


def shape(message: AmiMessage) -> list[str]:
    return [key for key, _ in message.headers]


async def test_pause_unpause_remove_and_add_answer_like_asterisk(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(queue="noanswer")
        client = await open_client(simulator.port)
        await client.login()
        client.send(
            "QueuePause", Queue="noanswer", Interface=BOB, Paused="true", Reason="Lunch", ActionID="p1"
        )
        ok = await client.response("p1")
        rec_ok = recorded(14)
        assert ok.headers == (
            ("Response", "Success"),
            ("ActionID", "p1"),
            ("Message", "Interface paused successfully"),
        )
        assert shape(rec_ok) == shape(ok)
        pause = (await client.until(lambda m: m.name == "QueueMemberPause"))[-1]
        rec_pause = recorded(16)
        assert shape(pause) == shape(rec_pause)
        assert (pause.get("Interface"), pause.get("Paused"), pause.get("PausedReason")) == (BOB, "1", "Lunch")
        items = await client.list_action("QueueStatus", "qs", Member=BOB)
        member = next(m for m in items if m.name == "QueueMember")
        assert (member.get("Paused"), member.get("PausedReason")) == ("1", "Lunch")

        client.send("QueuePause", Interface=BOB, Paused="false", ActionID="p2")
        assert (await client.response("p2")).get("Message") == "Interface unpaused successfully"
        assert (await client.until(lambda m: m.name == "QueueMemberPause"))[-1].get("Paused") == "0"

        client.send("QueueRemove", Queue="noanswer", Interface=BOB, ActionID="r1")
        assert (await client.response("r1")).get("Message") == "Removed interface from queue"
        removed = (await client.until(lambda m: m.name == "QueueMemberRemoved"))[-1]
        assert shape(removed) == shape(recorded(35))
        client.send("QueueRemove", Queue="noanswer", Interface=BOB, ActionID="r2")
        again = await client.response("r2")
        assert (again.name, again.get("Message")) == ("Error", "Unable to remove interface: Not there")
        client.send("QueuePause", Interface=BOB, Paused="true", ActionID="p3")
        assert (await client.response("p3")).get("Message") == "Interface not found"
        items = await client.list_action("QueueStatus", "qs2")
        assert [m.get("Location") for m in items if m.name == "QueueMember"] == [ALICE]

        client.send(
            "QueueAdd",
            Queue="noanswer",
            Interface=BOB,
            MemberName="Agent 1002",
            Penalty="1",
            Paused="false",
            ActionID="a1",
        )
        assert (await client.response("a1")).get("Message") == "Added interface to queue"
        added = (await client.until(lambda m: m.name == "QueueMemberAdded"))[-1]
        assert shape(added) == shape(recorded(9))
        assert (added.get("Membership"), added.get("Penalty")) == ("dynamic", "1")
        client.send("QueueAdd", Queue="noanswer", Interface=BOB, MemberName="Agent 1002", ActionID="a2")
        assert (await client.response("a2")).get("Message") == "Unable to add interface: Already there"


async def test_a_paused_agent_is_not_offered_calls_until_unpaused(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=0.05, talk_s=0.05)
        client = await open_client(simulator.port)
        await client.login()
        for action_id, interface in (("p1", ALICE), ("p2", BOB)):
            client.send("QueuePause", Interface=interface, Paused="true", Reason="Break", ActionID=action_id)
            await client.response(action_id)
        call = await simulator.place_call(number="0907", name="Waiting", scenario="answered")
        await client.until(lambda m: m.name == "QueueCallerJoin" and m.get("Linkedid") == call)
        client.send("QueuePause", Interface=BOB, Paused="false", ActionID="p3")
        events = await client.until(is_last_hangup(call))
        called = [m.get("Interface") for m in events if m.name == "AgentCalled"]
        assert called == [BOB]
        unpaused_at = next(i for i, m in enumerate(events) if m.name == "QueueMemberPause")
        assert unpaused_at < next(i for i, m in enumerate(events) if m.name == "AgentCalled")


async def test_a_member_paused_during_a_call_is_reported_paused_in_every_later_event(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    # Issue 20: the QueueMemberStatus events of the call's end said "Paused: 0" (the recorded
    # value), so Hotline showed the agent Ready while the simulated PBX kept her paused.
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=0.05, talk_s=0.5)
        client = await open_client(simulator.port)
        await client.login()
        call = await simulator.place_call(number="0907", name="Caller", scenario="answered", agents=[ALICE])
        events = await client.until(lambda m: m.name == "AgentConnect" and m.get("Linkedid") == call)
        client.send("QueuePause", Interface=ALICE, Paused="true", Reason="Lunch", ActionID="p1")
        events += await client.until(is_last_hangup(call))
        pause = next(m for m in events if m.name == "QueueMemberPause")
        statuses = [m for m in events[events.index(pause) :] if m.name == "QueueMemberStatus"]
        assert [m.get("Status") for m in statuses] == ["1"]  # the call's end frees her device
        for status in statuses:
            assert (status.get("Interface"), status.get("Paused"), status.get("PausedReason")) == (
                ALICE,
                "1",
                "Lunch",
            )
            assert status.get("LastPause") == pause.get("LastPause") != "0"
        # As the real Asterisk does: a paused member's device-state change says so (ami_s, 1002).
        real = next(
            m
            for m in AmiParser().feed(server_stream("ami_s_conference.txt"))
            if m.name == "QueueMemberStatus" and m.get("Paused") == "1"
        )
        assert (real.get("PausedReason"), real.get("LastPause") != "0") == ("lab-setup", True)
        assert shape(statuses[-1]) == shape(real)
        items = await client.list_action("QueueStatus", "qs", Member=ALICE)
        member = next(m for m in items if m.name == "QueueMember")
        assert (member.get("Paused"), member.get("PausedReason"), member.get("Status")) == ("1", "Lunch", "1")
        # What Hotline makes of it: still paused after the call, not Ready.
        tracker = AgentStateTracker()
        for event in events:
            tracker.feed(event, time.time())
        status = tracker.status(normalise_interface(ALICE))
        assert status is not None
        assert (status.presence, status.reason) == (Presence.PAUSED, "Lunch")
