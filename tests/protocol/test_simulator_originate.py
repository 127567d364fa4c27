"""The simulator's Originate, built from ami_d3/ami_d5: ChannelId comes back, answered dials reach an agent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from cti.ami_protocol import AmiMessage, AmiParser, MessageKind, encode_action
from tests.protocol.test_simulator import Factory, RawAmi, open_client, start_simulator
from tests.recordings import server_stream

__all__ = ["open_client", "start_simulator"]  # fixtures shared with test_simulator.py
Opener = Callable[[int], Awaitable[RawAmi]]
FAST_AGENTS = ("Local/1001@agents", "Local/1002@agents")  # test_simulator's FAST agent_interfaces


def recorded(transcript: str, check: Callable[[AmiMessage], bool]) -> AmiMessage:
    """The first message Asterisk sent in a recording that `check` accepts."""
    return next(m for m in AmiParser().feed(server_stream(transcript)) if check(m))


def originate_response(response: str) -> Callable[[AmiMessage], bool]:
    return lambda m: m.name == "OriginateResponse" and m.get("Response") == response


def originate(client: RawAmi, action_id: str, number: str, channel_id: str) -> None:
    client.send(
        "Originate",
        Channel=f"Local/{number}@customers",
        Context="outbound-agent",
        Exten="s",
        Priority="1",
        Timeout="20000",
        CallerID='"CTI Dialer" <5550100>',
        ChannelId=channel_id,
        OtherChannelId=f"{channel_id}-b",
        Async="true",
        ActionID=action_id,
    )


async def test_an_answered_dial_carries_the_channel_id_and_rings_an_agent(
    start_simulator: Factory, open_client: Opener
) -> None:
    async with asyncio.timeout(15):
        simulator = await start_simulator(
            originate_answer_share=1.0, originate_busy_share=0.0, originate_ring_s=0.05
        )
        client = await open_client(simulator.port)
        await client.login()
        originate(client, "dial-1", "0555000111", "cti-0001")
        queued = await client.response("dial-1")
        assert queued.headers == (
            ("Response", "Success"),
            ("ActionID", "dial-1"),
            ("Message", "Originate successfully queued"),
        )
        [response] = [m for m in await client.until(lambda m: m.name == "OriginateResponse")][-1:]
        want = recorded("ami_d5_originate_channelid.txt", originate_response("Success"))
        assert [k for k, _ in response.headers] == [k for k, _ in want.headers]
        assert response.get("Response") == "Success"
        assert response.get("Reason") == "4"
        assert response.get("Uniqueid") == "cti-0001"
        assert response.action_id == "dial-1"
        following = await client.until(lambda m: m.name == "AgentCalled")
        assert not [m for m in following if m.name == "OriginateResponse"]  # one answer per dial
        called = following[-1]
        assert called.get("Linkedid") == "cti-0001"
        assert called.get("Uniqueid") == "cti-0001-b"  # the queue caller is the other Local half
        assert called.get("CallerIDNum") == "0555000111"


async def test_the_agent_of_an_answered_dial_picks_up_as_on_auto_answer(
    start_simulator: Factory, open_client: Opener
) -> None:
    async with asyncio.timeout(15):
        # Inbound calls ring an agent for 3 s; a campaign call must reach one inside the 2 s rule.
        simulator = await start_simulator(
            originate_answer_share=1.0,
            originate_busy_share=0.0,
            originate_ring_s=0.05,
            ring_s=3.0,
            outbound_agent_ring_s=0.05,
        )
        client = await open_client(simulator.port)
        await client.login()
        originate(client, "dial-1", "0555000111", "cti-0002")
        await client.until(lambda m: m.name == "AgentCalled" and m.get("Linkedid") == "cti-0002")
        loop = asyncio.get_running_loop()
        called_at = loop.time()
        await client.until(lambda m: m.name == "AgentConnect" and m.get("Linkedid") == "cti-0002")
        assert loop.time() - called_at < 1.0


async def test_a_dial_for_one_agent_rings_that_agent_though_callers_wait_in_the_queue(
    start_simulator: Factory, open_client: Opener
) -> None:
    async with asyncio.timeout(15):
        # A progressive dial names its agent (the dialplan's Dial(${HOTLINE_AGENT})): the queue's
        # waiting callers are not in its way, and no other agent takes it.
        simulator = await start_simulator(
            originate_answer_share=1.0,
            originate_busy_share=0.0,
            originate_ring_s=0.05,
            outbound_agent_ring_s=0.05,
            talk_s=30.0,
        )
        client = await open_client(simulator.port)
        await client.login()
        alice, bob = FAST_AGENTS
        await simulator.place_call(number="0901000001", name="First", scenario="answered", agents=[bob])
        await client.until(lambda m: m.name == "AgentConnect")
        await simulator.place_call(number="0901000002", name="Waiting", scenario="answered", agents=[bob])
        await client.until(lambda m: m.name == "QueueCallerJoin" and m.get("CallerIDNum") == "0901000002")
        client.writer.write(
            encode_action(
                "Originate",
                [
                    ("Channel", "Local/0555000111@customers"),
                    ("Context", "hotline-dialer"),
                    ("Exten", "s"),
                    ("Priority", "1"),
                    ("ChannelId", "cti-0003"),
                    ("OtherChannelId", "cti-0003-b"),
                    ("Async", "true"),
                    ("ActionID", "dial-3"),
                    ("Variable", "HOTLINE_CAMPAIGN=1"),
                    ("Variable", "CAMPAIGN_QUEUE=sales"),
                    ("Variable", f"HOTLINE_AGENT={alice}"),
                ],
            )
        )
        connected = (
            await client.until(lambda m: m.name == "AgentConnect" and m.get("Linkedid") == "cti-0003")
        )[-1]
        assert connected.get("Interface") == f"{alice}/n"


@pytest.mark.parametrize(
    ("shares", "reason", "transcript"),
    [
        ({"originate_answer_share": 0.0, "originate_busy_share": 1.0}, "5", "ami_d5_originate_channelid.txt"),
        ({"originate_answer_share": 0.0, "originate_busy_share": 0.0}, "3", "ami_d3_originate_noanswer.txt"),
    ],
)
async def test_busy_and_unanswered_dials_fail_with_the_recorded_reason(
    start_simulator: Factory, open_client: Opener, shares: dict[str, float], reason: str, transcript: str
) -> None:
    async with asyncio.timeout(15):
        simulator = await start_simulator(originate_ring_s=0.05, originate_no_answer_s=0.1, **shares)
        client = await open_client(simulator.port)
        await client.login()
        originate(client, "dial-2", "9555000111", "cti-0002")
        await client.response("dial-2")
        response = (await client.until(lambda m: m.name == "OriginateResponse"))[-1]
        want = recorded(transcript, originate_response("Failure"))
        assert [k for k, _ in response.headers] == [k for k, _ in want.headers]
        assert (response.get("Response"), response.get("Reason")) == ("Failure", reason)
        assert response.get("Uniqueid") == "cti-0002"
        assert response.get("Channel") == "Local/9555000111@customers"


async def test_an_originate_without_channel_is_refused_as_asterisk_does(
    start_simulator: Factory, open_client: Opener
) -> None:
    async with asyncio.timeout(10):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        await client.login()
        client.send("Originate", Application="Wait", Data="1", ActionID="no-channel")
        answer = await client.response("no-channel")
        recorded_error = recorded(
            "ami_d4_originate_errors.txt",
            lambda m: m.kind is MessageKind.RESPONSE and m.action_id == "no-channel",
        )
        assert answer == recorded_error
