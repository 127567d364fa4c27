"""The PBX simulator against raw AMI clients: it must speak like the recorded Asterisk 22.

Calls are compared frame by frame with the recordings they are built from: the same events in
the same order, the same headers, and the same values except the identifying ones (ids, channel
names, caller, queue, agent, timings), which must be the ones the test asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from cti.ami_protocol import AmiMessage, AmiParser, MessageKind, encode_action
from cti.simulator import PbxSimulator, SimulatorSettings
from tests.recordings import server_messages

IO_TIMEOUT_S = 5.0
TEST_TIMEOUT_S = 20.0
FAST: dict[str, Any] = {
    "username": "hotline",
    "secret": "s3cret",
    "queue": "sales",
    "agent_interfaces": ("Local/1001@agents", "Local/1002@agents"),
    "calls_per_minute": 0.0,
    "ring_s": 0.05,
    "talk_s": 0.05,
    "time_scale": 0.01,
    "auth_failure_delay_s": 0.05,
}


class RawAmi:
    """A bare AMI client on asyncio streams and the sans-I/O parser; every read has a deadline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = AmiParser()
        self.inbox: list[AmiMessage] = []
        self.raw = bytearray()

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        async with asyncio.timeout(IO_TIMEOUT_S):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        banner = await client.next()
        assert banner.kind is MessageKind.BANNER
        assert banner.get("Version") == "11.0.0"
        return client

    def send(self, action: str, **fields: str) -> None:
        self.writer.write(encode_action(action, fields))

    async def next(self) -> AmiMessage:
        """The next message, reading from the socket when none is buffered."""
        async with asyncio.timeout(IO_TIMEOUT_S):
            while not self.inbox:
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError("the simulator closed the connection")
                self.raw += data
                self.inbox.extend(self.parser.feed(data))
        return self.inbox.pop(0)

    async def until(self, check: Callable[[AmiMessage], bool]) -> list[AmiMessage]:
        """Every message up to and including the first one `check` accepts."""
        seen: list[AmiMessage] = []
        while True:
            message = await self.next()
            seen.append(message)
            if check(message):
                return seen

    async def response(self, action_id: str) -> AmiMessage:
        messages = await self.until(lambda m: m.kind is MessageKind.RESPONSE and m.action_id == action_id)
        return messages[-1]

    async def login(self, username: str = "hotline", secret: str = "s3cret", **extra: str) -> AmiMessage:
        """Log in; with events on, also read up to this session's own SuccessfulAuth."""
        self.send("Login", Username=username, Secret=secret, ActionID="login", **extra)
        response = await self.response("login")
        if extra.get("Events") != "off":
            me = f"/{self.writer.get_extra_info('sockname')[1]}"
            await self.until(lambda m: m.name == "SuccessfulAuth" and m.get("RemoteAddress").endswith(me))
        return response

    async def list_action(self, action: str, action_id: str, **fields: str) -> list[AmiMessage]:
        """Send a list action; return its items and the closing *Complete event."""
        self.send(action, ActionID=action_id, **fields)
        start = await self.response(action_id)
        assert start.get("EventList") == "start"
        messages = await self.until(lambda m: m.action_id == action_id and m.get("EventList") == "Complete")
        return [m for m in messages if m.action_id == action_id]

    async def expect_closed(self) -> None:
        """Read until the simulator closes the connection (EOF or reset)."""
        async with asyncio.timeout(IO_TIMEOUT_S):
            try:
                while await self.reader.read(65536):
                    pass
            except ConnectionResetError:
                pass

    async def close(self) -> None:
        self.writer.close()
        try:
            async with asyncio.timeout(IO_TIMEOUT_S):
                await self.writer.wait_closed()
        except ConnectionError:
            pass


Factory = Callable[..., Awaitable[PbxSimulator]]


@pytest.fixture
async def start_simulator() -> AsyncIterator[Factory]:
    """Start simulators with FAST settings plus overrides; all are closed after the test."""
    started: list[PbxSimulator] = []

    async def start(**overrides: Any) -> PbxSimulator:
        simulator = PbxSimulator(SimulatorSettings(**{**FAST, **overrides}))
        async with asyncio.timeout(IO_TIMEOUT_S):
            await simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        async with asyncio.timeout(IO_TIMEOUT_S):
            await simulator.close()


@pytest.fixture
async def open_client() -> AsyncIterator[Callable[..., Awaitable[RawAmi]]]:
    """Open raw AMI clients; all are closed after the test."""
    clients: list[RawAmi] = []

    async def open_(port: int) -> RawAmi:
        client = await RawAmi.connect(port)
        clients.append(client)
        return client

    yield open_
    for client in clients:
        await client.close()


# -- the recordings the calls are built from ------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What identifies the recorded call, so the test can translate it to the simulated one."""

    file: str
    queue: str
    number: str
    name: str
    agents: tuple[str, ...]


RECORDED = {
    "answered": Recorded(
        "ami_b_inbound_answered.txt", "support", "0901234567", "Jane Doe", ("Local/1001@agents",)
    ),
    "abandon": Recorded("ami_c_abandon.txt", "noanswer", "0907654321", "Bob Abandon", ("Local/1003@agents",)),
    "ringall": Recorded(
        "ami_i_ringall.txt",
        "ringall",
        "0912345678",
        "Trần Văn Bình",
        ("Local/2001@agents", "Local/2002@agents"),
    ),
}
# Values that depend on the simulated clock; they must still be numbers.
TIMED_FIELDS = {"HoldTime", "TalkTime", "RingTime", "LastCall", "LoginTime"}
TIMED_VARIABLES = {
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "QUEUEWAIT",
    "QUEUEWAIT_MS",
    "QEHOLDTIME",
    "QUEUEHOLDTIME",
    "QUEUETALKTIME",
    "QUEUESRVLEVELPERF",
    "MEMBERLASTCALL",
}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse(raw: bytes) -> AmiMessage:
    parser = AmiParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    (message,) = parser.feed(raw)
    return message


def recorded_call(recorded: Recorded) -> list[AmiMessage]:
    """The recorded call's events; the simulator has one queue, so the lab's other queues go."""
    events = [parse(raw) for raw in server_messages(recorded.file) if raw.startswith(b"Event: ")]
    kept = []
    for m in events:
        if m.name in ("FullyBooted", "SuccessfulAuth"):
            continue
        if m.get("Queue", recorded.queue) != recorded.queue:
            continue
        device = m.get("Device")
        if device.startswith("Queue:") and not device.startswith(f"Queue:{recorded.queue}"):
            continue
        kept.append(m)
    return kept


def is_last_hangup(linkedid: str) -> Callable[[AmiMessage], bool]:
    """The Hangup of the caller's ;1 half, whose Uniqueid is the Linkedid (last in answered calls)."""
    return lambda m: m.name == "Hangup" and m.get("Uniqueid") == linkedid


async def play(
    client: RawAmi, simulator: PbxSimulator, count: int, **call: Any
) -> tuple[str, list[AmiMessage]]:
    """Place a call and collect its first `count` events (the only call, so every event is its)."""
    linkedid = await simulator.place_call(**call)
    events: list[AmiMessage] = []
    while len(events) < count:
        message = await client.next()
        if message.kind is MessageKind.EVENT:
            events.append(message)
    return linkedid, events


def assert_same_call(
    recorded: Recorded,
    expected: Sequence[AmiMessage],
    got: Sequence[AmiMessage],
    *,
    number: str,
    name: str,
    queue: str,
    agents: Sequence[str],
) -> None:
    """`got` is `expected` with only the identifying values replaced, and replaced consistently."""
    assert [m.name for m in got] == [m.name for m in expected]
    # Pair channels and ids through the Newchannel events, which come in the same order.
    channels: dict[str, str] = {}
    uids: dict[str, str] = {}
    for old, new in zip(expected, got, strict=True):
        if old.name == "Newchannel":
            channels[old.get("Channel")] = new.get("Channel")
            uids[old.get("Uniqueid")] = new.get("Uniqueid")
    caller = [new for old, new in channels.items() if "@from-pstn-" in old]
    assert all(re.fullmatch(r"Local/555\d+@from-pstn-[0-9a-f]{8};[12]", c) for c in caller)
    for old_agent, new_agent in zip(recorded.agents, agents, strict=False):
        halves = [new for old, new in channels.items() if old.startswith(old_agent + "-")]
        assert halves
        assert all(re.fullmatch(re.escape(new_agent) + r"-[0-9a-f]{8};[12]", c) for c in halves)
    linkedids = {m.get("Linkedid") for m in got if m.get("Linkedid")}
    assert len(linkedids) == 1, "every channel of the call shares the Linkedid"

    replacements = dict(channels)
    replacements[recorded.number] = number
    replacements[recorded.name] = name
    extens: dict[str, str] = {}
    for old_agent, new_agent in zip(recorded.agents, agents, strict=False):
        old_exten, new_exten = old_agent[6:].split("@")[0], new_agent[6:].split("@")[0]
        extens[old_exten] = new_exten
        replacements[f"{old_agent}/n"] = f"{new_agent}/n"
        replacements[old_agent] = new_agent
        replacements[f"Agent {old_exten}"] = f"Agent {new_exten}"
        replacements[old_agent[6:] + "/n"] = new_agent[6:] + "/n"
    ordered = sorted(replacements.items(), key=lambda item: -len(item[0]))

    def translate(text: str) -> str:
        for old, new in ordered:
            text = text.replace(old, new)
        return text

    for old, new in zip(expected, got, strict=True):
        assert [translate(k) for k, _ in old.headers] == [k for k, _ in new.headers], old.name
        variable = old.get("Variable")
        for (key, old_value), (_, new_value) in zip(old.headers, new.headers, strict=True):
            where = f"{old.name} {key} ({variable})"
            if key in TIMED_FIELDS or (key == "Value" and variable in TIMED_VARIABLES):
                assert NUMBER.fullmatch(new_value) or new_value == old_value == "", where
            elif key == "BridgeUniqueid":
                assert re.fullmatch(r"[0-9a-f-]{36}", new_value), where
            elif key == "ActionID":
                assert new_value not in ("", old_value), where
            elif key.endswith(("Uniqueid", "Linkedid")):
                assert new_value == uids[old_value], where
            elif key.endswith(("Exten", "Extension")) and old_value in extens:
                assert new_value == extens[old_value], where
            elif key == "Queue" or (key == "Value" and variable in ("QUEUENAME", "QUEUE_NAME")):
                assert (old_value, new_value) == (recorded.queue, queue), where
            elif key == "Device" and old_value.startswith(f"Queue:{recorded.queue}"):
                assert new_value == f"Queue:{queue}" + old_value.removeprefix(f"Queue:{recorded.queue}"), (
                    where
                )
            elif key == "AppData" and old_value.startswith(recorded.queue + ","):
                assert new_value == queue + old_value.removeprefix(recorded.queue), where
            else:
                assert new_value == translate(old_value), where


# -- login -------------------------------------------------------------------------------------


async def test_plain_login_is_accepted_with_fully_booted_and_successful_auth(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        client.send("Login", Username="hotline", Secret="s3cret", ActionID="a-1")
        response, booted, auth = [await client.next() for _ in range(3)]
        assert response.headers == (
            ("Response", "Success"),
            ("ActionID", "a-1"),
            ("Message", "Authentication accepted"),
        )
        assert (booted.name, booted.get("Status")) == ("FullyBooted", "Fully Booted")
        assert auth.name == "SuccessfulAuth"
        assert auth.get("AccountID") == "hotline"
        local_port = client.writer.get_extra_info("sockname")[1]
        assert auth.get("RemoteAddress") == f"IPV4/TCP/127.0.0.1/{local_port}"
        assert auth.get("LocalAddress") == f"IPV4/TCP/127.0.0.1/{simulator.port}"


async def test_md5_challenge_login_checks_the_key(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        client.send("Challenge", AuthType="MD5", ActionID="c-1")
        challenge = (await client.response("c-1")).get("Challenge")
        assert challenge.isdigit()
        key = hashlib.md5((challenge + "s3cret").encode(), usedforsecurity=False).hexdigest()
        client.send("Login", AuthType="MD5", Username="hotline", Key=key, ActionID="l-1")
        assert (await client.response("l-1")).get("Message") == "Authentication accepted"

        other = await open_client(simulator.port)
        other.send("Challenge", AuthType="MD5", ActionID="c-2")
        await other.response("c-2")
        other.send("Login", AuthType="MD5", Username="hotline", Key=key, ActionID="l-2")  # stale key
        assert (await other.response("l-2")).get("Message") == "Authentication failed"
        await other.expect_closed()


async def test_wrong_secret_fails_after_the_delay_closes_and_tells_other_sessions(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(auth_failure_delay_s=0.2)
        monitor = await open_client(simulator.port)
        await monitor.login()
        intruder = await open_client(simulator.port)
        sent_at = time.monotonic()
        intruder.send("Login", Username="hotline", Secret="guess", ActionID="bad")
        failure = await intruder.response("bad")
        assert time.monotonic() - sent_at >= 0.2
        assert failure.headers == (
            ("Response", "Error"),
            ("ActionID", "bad"),
            ("Message", "Authentication failed"),
        )
        await intruder.expect_closed()
        alarm = (await monitor.until(lambda m: m.name == "InvalidPassword"))[-1]
        assert alarm.get("AccountID") == "hotline"
        assert alarm.get("Severity") == "Error"


async def test_actions_before_login_are_denied_and_reported(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        monitor = await open_client(simulator.port)
        await monitor.login()
        stranger = await open_client(simulator.port)
        stranger.send("Ping", ActionID="p")
        denied = await stranger.next()
        assert denied.headers == (("Response", "Error"), ("ActionID", "p"), ("Message", "Permission denied"))
        report = (await monitor.until(lambda m: m.name == "RequestNotAllowed"))[-1]
        assert report.get("RequestType") == "Action: Ping"
        assert report.get("AccountID") == ""


async def test_ping_logoff_unknown_action_and_events_switch(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        await client.login()
        client.send("Ping", ActionID="p-1")
        pong = await client.response("p-1")
        assert pong.get("Ping") == "Pong"
        assert abs(float(pong.get("Timestamp")) - time.time()) < 60
        client.send("Ping")
        bare = await client.until(lambda m: m.kind is MessageKind.RESPONSE)
        assert bare[-1].headers == (
            ("Response", "Success"),
            ("Ping", "Pong"),
            ("Timestamp", bare[-1].get("Timestamp")),
        )

        client.send("NoSuchThing", ActionID="u")
        unknown = await client.response("u")
        assert unknown.get("Message") == (
            "Invalid/unknown command: NoSuchThing. Use Action: ListCommands to show available commands."
        )
        bad_format = (await client.until(lambda m: m.name == "RequestBadFormat"))[-1]
        assert bad_format.get("RequestType") == "Action: NoSuchThing"

        client.writer.write(b"ActionID: no-verb\r\n\r\n")
        missing = await client.response("no-verb")
        assert (missing.name, missing.get("Message")) == ("Error", "Missing action in request")

        client.send("Events", EventMask="off", ActionID="e-off")
        assert (await client.response("e-off")).get("Events") == "Off"
        client.send("Events", EventMask="on", ActionID="e-on")
        assert (await client.response("e-on")).get("Events") == "On"
        client.send("Logoff", ActionID="bye")
        goodbye = await client.response("bye")
        assert goodbye.headers == (
            ("Response", "Goodbye"),
            ("ActionID", "bye"),
            ("Message", "Thanks for all the fish."),
        )
        await client.expect_closed()


async def test_events_off_hides_calls_until_switched_back_on(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        quiet = await open_client(simulator.port)
        await quiet.login(Events="off")
        watcher = await open_client(simulator.port)
        await watcher.login()
        linkedid = await simulator.place_call(number="0901", name="A", scenario="answered")
        await watcher.until(is_last_hangup(linkedid))
        quiet.send("Ping", ActionID="after-call")
        assert [m.kind for m in await quiet.until(lambda m: m.action_id == "after-call")] == [
            MessageKind.RESPONSE
        ]

        quiet.send("Events", EventMask="on", ActionID="on")
        await quiet.response("on")
        linkedid = await simulator.place_call(number="0902", name="B", scenario="answered")
        assert (await quiet.until(is_last_hangup(linkedid)))[0].name == "Newchannel"


async def test_malformed_and_oversized_actions_close_only_that_client(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]], caplog: pytest.LogCaptureFixture
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        good = await open_client(simulator.port)
        await good.login()
        garbled = await open_client(simulator.port)
        garbled.writer.write(b"this line has no colon\r\n\r\n")
        await garbled.expect_closed()
        flooder = await open_client(simulator.port)
        flooder.writer.write(b"Action: Ping\r\nX: " + b"a" * 300_000)
        await flooder.expect_closed()
        good.send("Ping", ActionID="still-here")
        assert (await good.response("still-here")).get("Ping") == "Pong"
        assert "malformed action line" in caplog.text
        assert "exceeds" in caplog.text


# -- calls -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "agents"),
    [
        ("answered", ["Local/1002@agents"]),
        ("abandon", ["Local/1001@agents"]),
        ("ringall", ["Local/1002@agents", "Local/1001@agents"]),
    ],
)
async def test_call_replays_its_recording_with_only_identifying_values_changed(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]], scenario: str, agents: list[str]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        await client.login()
        number, name = "0987654321", "Lê Thị Hồng"
        recorded = RECORDED[scenario]
        expected = recorded_call(recorded)
        linkedid, events = await play(
            client, simulator, len(expected), number=number, name=name, scenario=scenario, agents=agents
        )
        assert_same_call(recorded, expected, events, number=number, name=name, queue="sales", agents=agents)
        assert events[0].get("Uniqueid") == linkedid
        assert name.encode() in client.raw  # raw UTF-8 on the wire, as Asterisk sends it


async def test_ringall_cancels_the_loser_before_the_winner_connects(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        client = await open_client(simulator.port)
        await client.login()
        winner, loser = "Local/1002@agents", "Local/1001@agents"
        count = len(recorded_call(RECORDED["ringall"]))
        _, events = await play(
            client, simulator, count, number="0912", name="Bình", scenario="ringall", agents=[winner, loser]
        )
        called = [m.get("Interface") for m in events if m.name == "AgentCalled"]
        assert called == [f"{winner}/n", f"{loser}/n"]
        names = [
            (m.name, m.get("DialStatus"), m.get("Cause"), m.get("DestChannel") or m.get("Channel"))
            for m in events
        ]
        connect = next(i for i, m in enumerate(events) if m.name == "AgentConnect")
        cancels = [
            i for i, (n, status, _, chan) in enumerate(names) if status == "CANCEL" and chan.startswith(loser)
        ]
        loser_hangups = [
            i for i, (n, _, cause, chan) in enumerate(names) if n == "Hangup" and chan.startswith(loser)
        ]
        assert (len(cancels), len(loser_hangups)) == (2, 2)
        assert max(cancels + loser_hangups) < connect
        assert {events[i].get("Cause") for i in loser_hangups} == {"26"}
        assert events[connect].get("Interface") == f"{winner}/n"
        assert not [m for m in events if m.name == "AgentRingNoAnswer"]


async def test_ring_and_talk_last_as_configured_and_are_reported(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=1.0, talk_s=1.0)
        client = await open_client(simulator.port)
        await client.login()
        linkedid = await simulator.place_call(number="0903", name="C", scenario="answered")
        arrived: dict[str, float] = {}
        events: list[AmiMessage] = []
        while not events or not is_last_hangup(linkedid)(events[-1]):
            events.append(await client.next())
            arrived.setdefault(events[-1].name, time.monotonic())
        assert arrived["AgentConnect"] - arrived["AgentCalled"] >= 0.9
        assert arrived["AgentComplete"] - arrived["AgentConnect"] >= 0.9
        # The recorded half-second waits of Answer() shrink with time_scale (0.01 here).
        assert arrived["QueueCallerJoin"] - arrived["Newchannel"] < 0.25
        connect = next(m for m in events if m.name == "AgentConnect")
        complete = next(m for m in events if m.name == "AgentComplete")
        assert (connect.get("HoldTime"), connect.get("RingTime")) == ("1", "1")
        assert (complete.get("HoldTime"), complete.get("TalkTime")) == ("1", "1")


async def test_abandon_reports_the_hold_time(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=1.0)
        client = await open_client(simulator.port)
        await client.login()
        count = len(recorded_call(RECORDED["abandon"]))
        _, events = await play(client, simulator, count, number="0904", name="D", scenario="abandon")
        abandon = next(m for m in events if m.name == "QueueCallerAbandon")
        assert (abandon.get("HoldTime"), abandon.get("Position"), abandon.get("OriginalPosition")) == (
            "1",
            "1",
            "1",
        )
        assert abandon.get("Queue") == "sales"


async def test_sip_agent_has_one_channel_and_no_local_half(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(agent_interfaces=("PJSIP/1001",))
        client = await open_client(simulator.port)
        await client.login()
        # A SIP phone is one channel: the frames of the agent's second Local half do not exist.
        local_half = {"Local/1001@agents-00000001;2", "1795392159.3"}
        expected = [
            m.name
            for m in recorded_call(RECORDED["answered"])
            if not local_half & {v for _, v in m.headers}
            and not (m.name == "LocalBridge" and m.get("LocalOneChannel").startswith("Local/1001"))
        ]
        _, events = await play(client, simulator, len(expected), number="0905", name="E", scenario="answered")
        assert [m.name for m in events] == expected
        agent_channels = {m.get("Channel") for m in events if m.get("Channel").startswith("PJSIP/")}
        assert len(agent_channels) == 1
        assert re.fullmatch(r"PJSIP/1001-[0-9a-f]{8}", agent_channels.pop())
        assert not [m for m in events if "@agents" in m.get("Channel") + m.get("DestChannel")]
        connect = next(m for m in events if m.name == "AgentConnect")
        assert (connect.get("Interface"), connect.get("MemberName")) == ("PJSIP/1001", "Agent 1001")


async def test_channels_and_queue_status_follow_the_call(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=0.6, talk_s=0.6)
        client = await open_client(simulator.port)
        await client.login()
        linkedid = await simulator.place_call(number="0906", name="Phạm Thu", scenario="answered")
        await client.until(lambda m: m.name == "AgentCalled")

        channels = await client.list_action("CoreShowChannels", "csc-ringing")
        items, complete = channels[:-1], channels[-1]
        assert (complete.name, complete.get("ListItems")) == ("CoreShowChannelsComplete", "4")
        assert [m.get("Channel")[-2:] for m in items] == [";2", ";1", ";2", ";1"]
        assert {m.get("Linkedid") for m in items} == {linkedid}
        assert {m.get("CallerIDName") for m in items} == {"Phạm Thu"}
        assert (items[0].get("Application"), items[0].get("ApplicationData")) == ("Queue", "sales,,,,")
        assert all(
            re.fullmatch(r"\d\d:\d\d:\d\d", m.get("Duration")) and m.get("BridgeId") == "" for m in items
        )
        status = await client.list_action("QueueStatus", "qs-ringing")
        params, *members, entry, done = status
        assert (params.name, params.get("Queue"), params.get("Calls")) == ("QueueParams", "sales", "1")
        assert [(m.get("Location"), m.get("Status"), m.get("InCall")) for m in members] == [
            ("Local/1001@agents/n", "2", "0"),
            ("Local/1002@agents/n", "1", "0"),
        ]
        assert (entry.name, entry.get("Position"), entry.get("CallerIDName")) == (
            "QueueEntry",
            "1",
            "Phạm Thu",
        )
        assert entry.get("Channel") == items[0].get("Channel")
        assert done.get("ListItems") == "4"

        await client.until(lambda m: m.name == "BridgeEnter" and m.get("BridgeNumChannels") == "2")
        talking = (await client.list_action("CoreShowChannels", "csc-talking"))[:-1]
        bridged = [m for m in talking if m.get("BridgeId")]
        assert [m.get("Channel")[:10] for m in bridged] == ["Local/5551", "Local/1001"]
        assert len({m.get("BridgeId") for m in bridged}) == 1
        status = await client.list_action("QueueStatus", "qs-talking", Queue="sales")
        assert [m.name for m in status] == [
            "QueueParams",
            "QueueMember",
            "QueueMember",
            "QueueStatusComplete",
        ]
        assert (status[1].get("InCall"), status[1].get("Status")) == ("1", "2")

        await client.until(is_last_hangup(linkedid))
        idle = await client.list_action("CoreShowChannels", "csc-idle")
        assert [(m.name, m.get("ListItems")) for m in idle] == [("CoreShowChannelsComplete", "0")]
        status = await client.list_action("QueueStatus", "qs-idle")
        assert (status[0].get("Calls"), status[0].get("Completed")) == ("0", "1")
        assert (status[1].get("CallsTaken"), status[1].get("Status"), status[1].get("InCall")) == (
            "1",
            "1",
            "0",
        )
        assert [m.name for m in await client.list_action("QueueStatus", "qs-other", Queue="nosuch")] == [
            "QueueStatusComplete"
        ]


async def test_second_caller_waits_for_the_busy_agent(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(agent_interfaces=("Local/1001@agents",), ring_s=0.1, talk_s=0.2)
        client = await open_client(simulator.port)
        await client.login()
        first = await simulator.place_call(number="0907", name="First", scenario="answered")
        # The second caller arrives once the first is queued: two calls placed in the same instant
        # join in whichever order the event loop's timers fire.
        events = await client.until(lambda m: m.name == "QueueCallerJoin" and m.get("Linkedid") == first)
        second = await simulator.place_call(number="0908", name="Second", scenario="answered")
        events += await client.until(is_last_hangup(second))
        joins = [m for m in events if m.name == "QueueCallerJoin"]
        assert [(m.get("Linkedid"), m.get("Position"), m.get("Count")) for m in joins] == [
            (first, "1", "1"),
            (second, "2", "2"),
        ]
        first_agent_gone = next(
            i
            for i, m in enumerate(events)
            if m.name == "Hangup" and m.get("Linkedid") == first and "agents" in m.get("Channel")
        )
        second_called = next(
            i for i, m in enumerate(events) if m.name == "AgentCalled" and m.get("Linkedid") == second
        )
        assert first_agent_gone < second_called


async def test_two_clients_each_receive_every_event(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        first, second = await open_client(simulator.port), await open_client(simulator.port)
        await first.login()
        await second.login()
        linkedid = await simulator.place_call(number="0909", name="F", scenario="ringall")
        got_first = await first.until(is_last_hangup(linkedid))
        got_second = await second.until(is_last_hangup(linkedid))
        calls = [[m for m in got if m.get("Linkedid") == linkedid] for got in (got_first, got_second)]
        assert calls[0] == calls[1]
        assert len(calls[0]) > 100


async def test_a_stuck_client_is_dropped_and_the_others_keep_going(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]], caplog: pytest.LogCaptureFixture
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        agents = tuple(f"Local/{n}@agents" for n in range(2001, 2006))
        simulator = await start_simulator(agent_interfaces=agents, client_buffer_bytes=256 * 1024)
        healthy = await open_client(simulator.port)
        await healthy.login()
        stuck = await open_client(simulator.port)
        await stuck.login()  # ... and from now on it reads nothing
        # The kernel buffers a few MB on loopback before the simulator's own buffer grows, so
        # play small rounds of calls until the stuck client is dropped; the healthy one sees all.
        for batch in range(60):
            linkedids = [
                await simulator.place_call(number=f"09{batch:04d}{n:04d}", name="G", scenario="answered")
                for n in range(len(agents))
            ]
            pending = set(linkedids)  # calls of a round may finish in any order
            while pending:
                message = await healthy.next()
                if message.name == "Hangup":
                    pending.discard(message.get("Uniqueid"))
            if "dropping AMI client" in caplog.text:
                break
        drops = [r.getMessage() for r in caplog.records if "dropping AMI client" in r.getMessage()]
        stuck_address = f"/{stuck.writer.get_extra_info('sockname')[1]}:"
        assert len(drops) == 1
        assert stuck_address in drops[0]
        await stuck.expect_closed()
        healthy.send("Ping", ActionID="alive")
        assert (await healthy.response("alive")).get("Ping") == "Pong"


async def test_close_sends_shutdown_then_eof(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=30.0)
        client = await open_client(simulator.port)
        await client.login()
        await simulator.place_call(number="0910", name="H", scenario="answered")
        await client.until(lambda m: m.name == "AgentCalled")
        async with asyncio.timeout(IO_TIMEOUT_S):
            await simulator.close()
        shutdown = (await client.until(lambda m: m.name == "Shutdown"))[-1]
        assert (shutdown.get("Shutdown"), shutdown.get("Restart")) == ("Cleanly", "False")
        await client.expect_closed()


async def test_traffic_places_poisson_calls_from_the_configured_callers(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        callers = (("0901111111", "Ngô Bảo Châu"), ("0902222222", "Vũ Thị Mai"))
        simulator = await start_simulator(calls_per_minute=1200.0, caller_numbers=callers, seed=7)
        client = await open_client(simulator.port)
        await client.login()
        traffic = asyncio.create_task(simulator.run_traffic())
        try:
            joins: list[AmiMessage] = []
            while len(joins) < 5:
                message = await client.next()
                if message.name == "QueueCallerJoin":
                    joins.append(message)
        finally:
            traffic.cancel()
            with pytest.raises(asyncio.CancelledError):
                await traffic
        assert {(m.get("CallerIDNum"), m.get("CallerIDName")) for m in joins} <= set(callers)
        assert len({m.get("Linkedid") for m in joins}) == 5


async def test_settings_and_calls_refuse_bad_values(start_simulator: Factory) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        with pytest.raises(ValueError, match="abandon_share"):
            SimulatorSettings(abandon_share=0.7, ringall_share=0.5)
        with pytest.raises(ValueError, match="agent interface"):
            SimulatorSettings(agent_interfaces=("1001",))
        with pytest.raises(ValueError, match="queue"):
            SimulatorSettings(queue="sales\r\nEvent: Fake")
        assert "hotline-demo" not in repr(SimulatorSettings())
        simulator = await start_simulator()
        with pytest.raises(ValueError, match="caller name"):
            await simulator.place_call(number="0901", name="Eve\r\nEvent: Forged", scenario="answered")
        with pytest.raises(ValueError, match="scenario"):
            await simulator.place_call(number="0901", name="Eve", scenario="voicemail")  # type: ignore[arg-type]


async def test_frame_callback_sees_every_event_as_written(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator()
        written: list[tuple[str, bytes, float]] = []

        def record(name: str, frame: AmiMessage | bytes, at: float) -> None:
            assert isinstance(frame, bytes)
            written.append((name, frame, at))

        simulator.on_frame_sent(record)
        client = await open_client(simulator.port)
        await client.login()
        before = time.perf_counter()
        linkedid = await simulator.place_call(number="0911", name='Ông "Tư" 100%', scenario="answered")
        received = await client.until(is_last_hangup(linkedid))
        # The call's tail (after the last hangup) may be written but not read yet.
        call_frames = [(name, frame) for name, frame, at in written if at >= before][: len(received)]
        assert [name for name, _ in call_frames] == [m.name for m in received]
        assert [parse(frame) for _, frame in call_frames] == received
        times = [at for _, _, at in written]
        assert times == sorted(times)
        assert time.perf_counter() >= times[-1]
        # Asterisk C-escapes caller names; '%' is plain text, not a template hole.
        assert {m.get("CallerIDName") for m in received if m.name == "NewCallerid"} == {'Ông \\"Tư\\" 100%'}


async def test_when_agents_are_busy_abandon_rings_nobody_and_ringall_rings_who_is_free(
    start_simulator: Factory, open_client: Callable[..., Awaitable[RawAmi]]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_S):
        simulator = await start_simulator(ring_s=0.2, talk_s=30.0)
        client = await open_client(simulator.port)
        await client.login()
        busy = await simulator.place_call(
            number="0912", name="Busy", scenario="answered", agents=["Local/1001@agents"]
        )
        await client.until(lambda m: m.name == "AgentConnect")

        gone = await simulator.place_call(
            number="0913", name="Gone", scenario="abandon", agents=["Local/1001@agents"]
        )
        events = [m for m in await client.until(is_last_hangup(gone)) if m.get("Linkedid") == gone]
        events += [m for m in await client.until(lambda m: m.name == "Hangup") if m.get("Linkedid") == gone]
        assert [m.name for m in events if m.name.startswith(("Agent", "QueueCaller"))] == [
            "QueueCallerJoin",
            "QueueCallerAbandon",
            "QueueCallerLeave",
        ]
        assert not [m for m in events if "@agents" in " ".join(v for _, v in m.headers)]
        assert {m.get("Channel")[:10] for m in events if m.name == "Hangup"} == {"Local/5551"}

        both = await simulator.place_call(number="0914", name="Both", scenario="ringall")
        events = await client.until(lambda m: m.name == "AgentConnect" and m.get("Linkedid") == both)
        called = [m.get("Interface") for m in events if m.name == "AgentCalled" and m.get("Linkedid") == both]
        assert called == ["Local/1002@agents/n"]
        assert not [m for m in events if m.get("DialStatus") == "CANCEL" and m.get("Linkedid") == both]

        channels = await client.list_action("CoreShowChannels", "csc")
        assert {m.get("Linkedid") for m in channels[:-1]} == {busy, both}
